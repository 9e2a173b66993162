/*!
The "did you mean" line of an unknown subcommand, closest first: clap lists its candidates in
its own order (`tokne` → 'store', 'token'); a typo that swaps letters should lead to the
subcommand with the same letters.
*/

use clap::error::{ContextKind, ContextValue};

/// `text` (clap's rendered error) with the suggested subcommands re-ordered, closest first.
pub(crate) fn closest_first(e: &clap::Error, text: String) -> String {
    let (Some(ContextValue::String(typed)), Some(ContextValue::Strings(names))) = (
        e.get(ContextKind::InvalidSubcommand),
        e.get(ContextKind::SuggestedSubcommand),
    ) else {
        return text;
    };
    if names.len() < 2 {
        return text;
    }
    let listed = quoted(names);
    let mut ranked = names.clone();
    ranked.sort_by_key(|n| std::cmp::Reverse(shared_letters(typed, n) * 16 - distance(typed, n)));
    text.replace(&listed, &quoted(&ranked))
}

fn quoted(names: &[String]) -> String {
    let q: Vec<String> = names.iter().map(|n| format!("'{n}'")).collect();
    q.join(", ")
}

/// Letters both words hold, each counted as often as both have it.
fn shared_letters(a: &str, b: &str) -> i64 {
    let mut rest: Vec<char> = b.chars().collect();
    let mut n = 0;
    for c in a.chars() {
        if let Some(at) = rest.iter().position(|&r| r == c) {
            rest.swap_remove(at);
            n += 1;
        }
    }
    n
}

fn distance(a: &str, b: &str) -> i64 {
    (a.chars().count() as i64 - b.chars().count() as i64).abs()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_swapped_pair_of_letters_leads_to_its_word() {
        assert!(shared_letters("tokne", "token") > shared_letters("tokne", "store"));
    }
}
