//! Reading agent answers: JSON values and the probability the model gave
//! each of them (the confidence of the item it decides).

use crate::llm::Completion;

/// String values of a JSON array field in the raw answer, in order, with
/// the byte range of each value (inside the quotes) in `raw`.
pub fn array_values(raw: &str, key: &str) -> Option<Vec<(String, std::ops::Range<usize>)>> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let arr = v.get(key)?.as_array()?;
    let values: Vec<String> = arr
        .iter()
        .map(|x| x.as_str().map(str::to_string))
        .collect::<Option<_>>()?;
    // Locate the values after the key, in order.
    let mut at = raw.find(&format!("\"{key}\""))? + key.len() + 2;
    let mut out = Vec::with_capacity(values.len());
    for val in values {
        let quoted = format!("\"{val}\"");
        let rel = raw[at..].find(&quoted)?;
        let start = at + rel + 1;
        out.push((val.clone(), start..start + val.len()));
        at = start + val.len() + 1;
    }
    Some(out)
}

/// String value of a field, with its byte range (inside the quotes).
pub fn string_value(raw: &str, key: &str) -> Option<(String, std::ops::Range<usize>)> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let val = v.get(key)?.as_str()?.to_string();
    let at = raw.find(&format!("\"{key}\""))? + key.len() + 2;
    let rel = raw[at..].find(&format!("\"{val}\""))?;
    let start = at + rel + 1;
    Some((val.clone(), start..start + val.len()))
}

/// Integer value of a field, with its byte range.
pub fn int_value(raw: &str, key: &str) -> Option<(i64, std::ops::Range<usize>)> {
    let v: serde_json::Value = serde_json::from_str(raw).ok()?;
    let n = v.get(key)?.as_i64()?;
    let at = raw.find(&format!("\"{key}\""))? + key.len() + 2;
    let s = n.to_string();
    let rel = raw[at..].find(&s)?;
    Some((n, at + rel..at + rel + s.len()))
}

/// Lowest probability among the generated tokens overlapping a byte range of
/// the answer text (1.0 when the backend gave none).
pub fn span_prob(c: &Completion, range: &std::ops::Range<usize>) -> f32 {
    let mut pos = 0;
    let mut p = 1.0f32;
    let mut seen = false;
    for (piece, &prob) in c.tokens.iter().zip(&c.token_probs) {
        let end = pos + piece.len();
        if end > range.start && pos < range.end && !piece.is_empty() {
            p = p.min(prob);
            seen = true;
        }
        pos = end;
        if pos >= range.end {
            break;
        }
    }
    if seen {
        p
    } else {
        1.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_and_probabilities() {
        let raw = r#"{"picks":["b","a","x"]}"#;
        let vals = array_values(raw, "picks").unwrap();
        assert_eq!(
            vals.iter().map(|v| v.0.as_str()).collect::<Vec<_>>(),
            ["b", "a", "x"]
        );
        assert_eq!(&raw[vals[1].1.clone()], "a");
        let c = Completion {
            text: raw.into(),
            tokens: vec![
                r#"{"picks":[""#.into(),
                "b".into(),
                r#"",""#.into(),
                "a".into(),
                r#"",""#.into(),
                "x".into(),
                r#""]}"#.into(),
            ],
            token_probs: vec![0.99, 0.4, 0.99, 0.8, 0.99, 0.3, 0.99],
            ..Default::default()
        };
        assert!((span_prob(&c, &vals[0].1) - 0.4).abs() < 1e-6);
        assert!((span_prob(&c, &vals[1].1) - 0.8).abs() < 1e-6);
        assert_eq!(int_value(r#"{"principal": 3}"#, "principal").unwrap().0, 3);
        let (v, r) = string_value(r#"{"pick": "b"}"#, "pick").unwrap();
        assert_eq!((v.as_str(), r), ("b", 10..11));
        assert!(array_values("not json", "picks").is_none());
    }
}
