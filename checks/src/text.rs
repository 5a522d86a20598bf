//! Wording shared by every message: check kinds, certificate verdicts, parsers. A leaf module,
//! so anything may use it without a cycle.

/// `a, b and c` for messages; `none` for an empty list.
pub fn list(items: &[String]) -> String {
    match items.len() {
        0 => "none".into(),
        1 => items[0].clone(),
        n => format!("{} and {}", items[..n - 1].join(", "), items[n - 1]),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lists_read_as_prose() {
        let s = |v: &[&str]| v.iter().map(|x| x.to_string()).collect::<Vec<_>>();
        assert_eq!(list(&[]), "none");
        assert_eq!(list(&s(&["a"])), "a");
        assert_eq!(list(&s(&["a", "b", "c"])), "a, b and c");
    }
}
