//! Misbehaviours of a byzantine operator, for the adversarial tests only (the hidden
//! `--w3b-byzantine MODE=PROJECT` flag). Each applies to one project, so that one
//! network tests several attacks side by side while the other projects show they were
//! not held up.

use std::{collections::HashMap, str::FromStr};

use w3b_primitives::ProjectId;

/// One misbehaviour.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Attack {
	/// Commits, beside each batch it seals, a batch of invented messages: an
	/// unregistered device's, a genuine one with its payload changed, one with a zeroed
	/// signature, copies of its genuine messages and a duplicate.
	Forge,
	/// Votes the honest state root with garbage outputs.
	PoisonOutputs,
	/// Commits a copy of every other operator's commitment it sees in the pool: every
	/// other one with a CID nobody can serve, the rest with the honest CID and a size one
	/// byte off (the body every operator holds contradicts it).
	Hijack,
	/// Commits its batches and never serves their bodies.
	Withhold,
	/// Computes a wrong state the first time it runs the batches numbered 0, 8, 16...,
	/// and every time for those numbered 3, 11, 19... (a node faulty now and then that
	/// must find out and recover: by running the batch again, or where that does not help
	/// by taking the agreed changes from its peers). Two wrong votes in eight stay below
	/// the dissent limit: such a node keeps its seat.
	Diverge,
	/// Votes a wrong root (its state stays right).
	WrongRoot,
	/// Executes each batch only once the chain is 3 blocks past it (an operator behind
	/// the others).
	Lag,
	/// Never votes for the batches numbered 1, 17, 33... (an operator that goes quiet now
	/// and then: in a subnet of two those batches expire after the next ones ran on top
	/// of them).
	Abstain,
}

impl FromStr for Attack {
	type Err = String;

	fn from_str(s: &str) -> Result<Self, Self::Err> {
		Ok(match s {
			"forge" => Attack::Forge,
			"poison-outputs" => Attack::PoisonOutputs,
			"hijack" => Attack::Hijack,
			"withhold" => Attack::Withhold,
			"diverge" => Attack::Diverge,
			"wrong-root" => Attack::WrongRoot,
			"lag" => Attack::Lag,
			"abstain" => Attack::Abstain,
			other => return Err(format!("unknown attack `{other}`")),
		})
	}
}

/// Which attack the node makes on which project.
#[derive(Clone, Debug, Default)]
pub struct Byzantine(HashMap<ProjectId, Attack>);

impl Byzantine {
	/// Parses `MODE=PROJECT` items.
	pub fn parse(items: &[String]) -> Result<Self, String> {
		let mut attacks = HashMap::new();
		for item in items {
			let (mode, project) =
				item.split_once('=').ok_or_else(|| format!("`{item}` is not MODE=PROJECT"))?;
			let project = project.parse().map_err(|e| format!("`{item}`: {e}"))?;
			attacks.insert(project, mode.parse()?);
		}
		Ok(Byzantine(attacks))
	}

	/// Whether the node makes `attack` on `project`.
	pub fn on(&self, project: ProjectId, attack: Attack) -> bool {
		self.0.get(&project) == Some(&attack)
	}

	/// The projects the node makes `attack` on.
	pub fn projects(&self, attack: Attack) -> impl Iterator<Item = ProjectId> + '_ {
		self.0.iter().filter(move |(_, a)| **a == attack).map(|(p, _)| *p)
	}
}
