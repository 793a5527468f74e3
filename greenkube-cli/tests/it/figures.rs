//! Comparing figures read back from two stores or two runs: sums may add the same values in
//! another order (roll-ups, a rerun after a kill, another backend), so numbers are equal to a
//! relative 1e-9; everything else exactly.

use serde_json::Value;

/// Where two answers differ (numbers compared to a relative 1e-9), or `None`.
pub(crate) fn differs(a: &Value, b: &Value, at: &str) -> Option<String> {
    match (a, b) {
        (Value::Number(x), Value::Number(y)) => {
            let (x, y) = (x.as_f64()?, y.as_f64()?);
            ((x - y).abs() > 1e-9 * x.abs().max(y.abs()).max(1e-9))
                .then(|| format!("{at}: {x} vs {y}"))
        }
        (Value::Array(x), Value::Array(y)) if x.len() == y.len() => x
            .iter()
            .zip(y)
            .enumerate()
            .find_map(|(i, (x, y))| differs(x, y, &format!("{at}[{i}]"))),
        (Value::Object(x), Value::Object(y)) if x.len() == y.len() => {
            x.iter().find_map(|(k, v)| {
                y.get(k).map_or_else(
                    || Some(format!("{at}.{k}: missing")),
                    |w| differs(v, w, &format!("{at}.{k}")),
                )
            })
        }
        _ => (a != b).then(|| format!("{at}: {a} vs {b}")),
    }
}
