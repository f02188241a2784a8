//! Page tokens for the List actions. A token names the last item of the page it ends, so
//! the next page starts after that name even when items come and go between calls. It is
//! encoded with a marker so a token the engine did not issue is refused, as AWS refuses
//! one, instead of silently restarting at the first page.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as BASE64;

const MARKER: &str = "outboxctl-page-after:";

/// The token for the page that follows the item named `last`.
pub fn token_after(last: &str) -> String {
    BASE64.encode(format!("{MARKER}{last}"))
}

/// The name a token issued by [`token_after`] continues after, or `None` for any other text.
pub fn name_after(token: &str) -> Option<String> {
    let bytes = BASE64.decode(token).ok()?;
    String::from_utf8(bytes)
        .ok()?
        .strip_prefix(MARKER)
        .map(str::to_string)
}

/// One page of `items` (sorted by `name`): those after `after`, at most `limit`, with the
/// token for the next page when more remain.
pub fn page<T>(
    items: Vec<T>,
    name: impl Fn(&T) -> &str,
    after: Option<&str>,
    limit: usize,
) -> (Vec<T>, Option<String>) {
    let mut rest: Vec<T> = items
        .into_iter()
        .filter(|item| after.is_none_or(|a| name(item) > a))
        .collect();
    let more = rest.len() > limit;
    rest.truncate(limit);
    let next = more
        .then(|| rest.last().map(|last| token_after(name(last))))
        .flatten();
    (rest, next)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_round_trip_and_foreign_text_is_refused() {
        assert_eq!(
            name_after(&token_after("orders")).as_deref(),
            Some("orders")
        );
        assert_eq!(name_after("orders"), None);
        assert_eq!(name_after("!!"), None);
    }

    #[test]
    fn pages_continue_after_the_last_name() {
        let names = vec!["a", "b", "c"];
        let (first, next) = page(names.clone(), |n| n, None, 2);
        assert_eq!(first, vec!["a", "b"]);
        let after = name_after(&next.unwrap()).unwrap();
        let (second, next) = page(names, |n| n, Some(&after), 2);
        assert_eq!((second, next), (vec!["c"], None));
    }
}
