//! "Did you mean ...?" suggestions, shared by the macros and the runtime.

/// The Levenshtein edit distance between two strings, compared case-insensitively.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let a: Vec<char> = a.to_lowercase().chars().collect();
    let b: Vec<char> = b.to_lowercase().chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    let mut cur = vec![0; b.len() + 1];
    for (i, ca) in a.iter().enumerate() {
        cur[0] = i + 1;
        for (j, cb) in b.iter().enumerate() {
            let substitute = prev[j] + usize::from(ca != cb);
            cur[j + 1] = substitute.min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        std::mem::swap(&mut prev, &mut cur);
    }
    prev[b.len()]
}

/// The candidate closest to `word`, if one is close enough to be a plausible typo
/// (a small edit distance, or one being a prefix of the other).
pub fn did_you_mean<'a, I>(word: &str, candidates: I) -> Option<&'a str>
where
    I: IntoIterator<Item = &'a str>,
{
    let lower = word.to_lowercase();
    candidates
        .into_iter()
        .filter_map(|c| {
            let d = edit_distance(word, c);
            let c_lower = c.to_lowercase();
            let longest = lower.chars().count().max(c_lower.chars().count());
            let close = d <= (longest / 2).max(1) && d < longest;
            let prefix = (!c_lower.is_empty() && lower.starts_with(&c_lower))
                || (lower.len() >= 3 && c_lower.starts_with(&lower));
            (close || prefix).then_some((d, c))
        })
        .min_by_key(|(d, _)| *d)
        .map(|(_, c)| c)
}

/// " (did you mean `x`?)" when a close candidate exists, else "".
pub fn suggestion<'a, I>(word: &str, candidates: I) -> String
where
    I: IntoIterator<Item = &'a str>,
{
    match did_you_mean(word, candidates) {
        Some(c) => format!(" (did you mean `{c}`?)"),
        None => String::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distance() {
        assert_eq!(edit_distance("count", "count"), 0);
        assert_eq!(edit_distance("cout", "count"), 1);
        assert_eq!(edit_distance("kitten", "sitting"), 3);
        assert_eq!(edit_distance("", "abc"), 3);
        assert_eq!(edit_distance("MEM", "mem"), 0);
    }

    #[test]
    fn suggestions() {
        let keys = ["name", "count", "cpus", "mem", "command"];
        assert_eq!(did_you_mean("cout", keys), Some("count"));
        assert_eq!(did_you_mean("cpu", keys), Some("cpus"));
        assert_eq!(did_you_mean("memory", keys), Some("mem"));
        assert_eq!(did_you_mean("zzzzzz", keys), None);
        assert_eq!(did_you_mean("xyz", keys), None);
        assert_eq!(
            did_you_mean("idx", ["index", "name", "instance"]),
            Some("index")
        );
        assert_eq!(did_you_mean("sec", ["ms", "s", "m", "h"]), Some("s"));
        assert_eq!(suggestion("comand", keys), " (did you mean `command`?)");
        assert_eq!(suggestion("xyz", keys), "");
    }
}
