//! The child's name in the text a parent reads.
//!
//! Writers, guardrails, stored recommendations and the training data built from them
//! speak of "your child": no language model is ever given, or trained on, a child's
//! name. The name goes in only when the text is shown to the family ([`by_name`]).

/// `text` with "your child" (any case at the start, possessive or not) replaced by `name`.
pub fn by_name(text: &str, name: &str) -> String {
    let name = name.trim();
    if name.is_empty() {
        return text.to_owned();
    }
    text.replace("Your child's", &format!("{name}'s"))
        .replace("your child's", &format!("{name}'s"))
        .replace("Your child", name)
        .replace("your child", name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_child_is_named_where_the_text_says_your_child() {
        assert_eq!(
            by_name(
                "Your child's next day looks calm. Tell us how your child felt.",
                "Ada"
            ),
            "Ada's next day looks calm. Tell us how Ada felt."
        );
        assert_eq!(
            by_name("With an exam tomorrow, your child's stress may build.", "Jonas"),
            "With an exam tomorrow, Jonas's stress may build."
        );
        assert_eq!(by_name("Nothing to replace.", "Ada"), "Nothing to replace.");
        assert_eq!(by_name("Your child", "  "), "Your child");
    }
}
