//! Results on stdout: JSON for scripts (`--json`), lines for people.

use serde_json::Value;

/// How results are printed.
#[derive(Debug, Clone, Copy)]
pub struct Output {
	pub json: bool,
}

impl Output {
	/// Prints `value` as one line of JSON with `--json`, else `human`'s text.
	pub fn result(&self, value: &Value, human: impl FnOnce() -> String) {
		if self.json {
			println!("{value}");
		} else {
			println!("{}", human());
		}
	}
}

/// `value` as indented `key: value` lines, for people (objects nest, strings unquoted).
pub fn describe(value: &Value) -> String {
	let mut out = String::new();
	write_value(&mut out, value, 0);
	out.trim_end().to_string()
}

fn write_value(out: &mut String, value: &Value, indent: usize) {
	let pad = "  ".repeat(indent);
	match value {
		Value::Object(map) => {
			for (key, item) in map {
				match item {
					Value::Object(inner) if !inner.is_empty() => {
						out.push_str(&format!("{pad}{key}:\n"));
						write_value(out, item, indent + 1);
					}
					Value::Array(items) if items.iter().any(|i| i.is_object()) => {
						out.push_str(&format!("{pad}{key}:\n"));
						write_value(out, item, indent + 1);
					}
					_ => out.push_str(&format!("{pad}{key}: {}\n", scalar(item))),
				}
			}
		}
		Value::Array(items) => {
			for item in items {
				if item.is_object() {
					out.push_str(&format!("{pad}-\n"));
					write_value(out, item, indent + 1);
				} else {
					out.push_str(&format!("{pad}- {}\n", scalar(item)));
				}
			}
		}
		other => out.push_str(&format!("{pad}{}\n", scalar(other))),
	}
}

/// `text` with its control characters escaped: names and descriptions come from the
/// chain, where anyone can put terminal escape sequences in them.
pub fn printable(text: &str) -> String {
	text.chars()
		.map(|c| if c.is_control() { c.escape_default().to_string() } else { c.to_string() })
		.collect()
}

fn scalar(value: &Value) -> String {
	match value {
		Value::String(text) => printable(text),
		Value::Null => "-".into(),
		Value::Array(items) if items.is_empty() => "none".into(),
		Value::Array(items) => items.iter().map(scalar).collect::<Vec<_>>().join(", "),
		other => other.to_string(),
	}
}
