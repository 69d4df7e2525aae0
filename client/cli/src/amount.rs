//! Amounts in the chain's token: users write and read `1.5`, the chain counts plancks.

use serde_json::Value;

use crate::CliError;

/// The chain's token, from its `system_properties`.
#[derive(Debug, Clone, PartialEq)]
pub struct Token {
	pub symbol: String,
	pub decimals: u32,
}

impl Token {
	/// The token the chain's properties name (`tokenSymbol`, `tokenDecimals`); a chain
	/// without them counts in plain units.
	pub fn from_properties(properties: &Value) -> Self {
		let decimals = properties["tokenDecimals"].as_u64().unwrap_or(0).min(30) as u32;
		let symbol = properties["tokenSymbol"].as_str().unwrap_or("units").to_string();
		Token { symbol, decimals }
	}

	/// `text` (`12`, `0.5`, `1_000`) in the chain's smallest unit.
	pub fn parse(&self, text: &str) -> Result<u128, CliError> {
		let bad = || {
			CliError::bad(format!(
				"{text:?} is not an amount of {}: write a number such as 100 or 0.25 \
				 (at most {} decimals)",
				self.symbol, self.decimals
			))
		};
		let cleaned = text.trim().trim_end_matches(&self.symbol).trim().replace('_', "");
		let (whole, fraction) = cleaned.split_once('.').unwrap_or((&cleaned, ""));
		if whole.is_empty() && fraction.is_empty()
			|| fraction.len() > self.decimals as usize
			|| !whole.chars().chain(fraction.chars()).all(|c| c.is_ascii_digit())
		{
			return Err(bad());
		}
		let scale = 10u128.pow(self.decimals);
		let whole: u128 = if whole.is_empty() { 0 } else { whole.parse().map_err(|_| bad())? };
		let fraction: u128 = if fraction.is_empty() {
			0
		} else {
			fraction.parse::<u128>().map_err(|_| bad())?
				* 10u128.pow(self.decimals - fraction.len() as u32)
		};
		whole.checked_mul(scale).and_then(|w| w.checked_add(fraction)).ok_or_else(bad)
	}

	/// `plancks` as the user writes it, with the symbol: `1.5 W3B`.
	pub fn format(&self, plancks: u128) -> String {
		let scale = 10u128.pow(self.decimals);
		let whole = plancks / scale;
		let fraction = plancks % scale;
		if fraction == 0 {
			format!("{whole} {}", self.symbol)
		} else {
			let digits = format!("{fraction:0width$}", width = self.decimals as usize);
			format!("{whole}.{} {}", digits.trim_end_matches('0'), self.symbol)
		}
	}
}

#[cfg(test)]
mod tests {
	use super::*;

	fn w3b() -> Token {
		Token { symbol: "W3B".into(), decimals: 12 }
	}

	#[test]
	fn amounts_parse_in_plancks() {
		let token = w3b();
		assert_eq!(token.parse("1").unwrap(), 1_000_000_000_000);
		assert_eq!(token.parse("0.5").unwrap(), 500_000_000_000);
		assert_eq!(token.parse(".25").unwrap(), 250_000_000_000);
		assert_eq!(token.parse("1_000 W3B").unwrap(), 1_000_000_000_000_000);
		assert_eq!(token.parse("0.000000000001").unwrap(), 1);
	}

	#[test]
	fn bad_amounts_are_refused() {
		let token = w3b();
		for text in
			["", ".", "-1", "1e3", "0.0000000000001", "abc", "1.2.3", "9".repeat(40).as_str()]
		{
			assert!(token.parse(text).is_err(), "{text:?} was accepted");
		}
	}

	#[test]
	fn amounts_format_with_the_symbol() {
		let token = w3b();
		assert_eq!(token.format(1_500_000_000_000), "1.5 W3B");
		assert_eq!(token.format(100_000_000_000_000), "100 W3B");
		assert_eq!(token.format(1), "0.000000000001 W3B");
		assert_eq!(token.parse(&token.format(123_456_789)).unwrap(), 123_456_789);
	}
}
