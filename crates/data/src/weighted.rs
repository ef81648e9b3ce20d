//! The `id:weight` values of weighted id features (`weighted: true`, docs/semantics.md section 2), as
//! TorchEasyRec's feature generation writes them: `12:0.5` joined by the feature's separator.

/// Splits one `id:weight` value at its last `:` (ids may contain `:`, weights never do). The id must not be empty
/// and the weight must be a finite number.
pub(crate) fn split_pair(value: &str) -> Result<(&str, f32), String> {
    let Some((id, weight)) = value.rsplit_once(':') else {
        return Err(format!("{value:?} is not an id:weight pair"));
    };
    if id.is_empty() {
        return Err(format!("{value:?} has a weight but no id"));
    }
    match weight.trim().parse::<f32>() {
        Ok(w) if w.is_finite() => Ok((id, w)),
        Ok(_) => Err(format!("the weight of {value:?} is not finite")),
        Err(_) => Err(format!("the weight {weight:?} of {value:?} is not a number")),
    }
}

#[cfg(test)]
mod tests {
    use super::split_pair;

    #[test]
    fn pairs_split_at_the_last_colon() {
        assert_eq!(split_pair("12:0.5"), Ok(("12", 0.5)));
        assert_eq!(split_pair("a:b:-2"), Ok(("a:b", -2.0)));
        assert_eq!(split_pair("7: 1e-3 "), Ok(("7", 1e-3)));
    }

    #[test]
    fn malformed_pairs_say_what_is_wrong() {
        assert_eq!(split_pair("12"), Err("\"12\" is not an id:weight pair".into()));
        assert_eq!(split_pair(":0.5"), Err("\":0.5\" has a weight but no id".into()));
        assert_eq!(split_pair("12:x"), Err("the weight \"x\" of \"12:x\" is not a number".into()));
        assert_eq!(split_pair("12:"), Err("the weight \"\" of \"12:\" is not a number".into()));
        assert_eq!(split_pair("12:inf"), Err("the weight of \"12:inf\" is not finite".into()));
        assert_eq!(split_pair("12:NaN"), Err("the weight of \"12:NaN\" is not finite".into()));
    }
}
