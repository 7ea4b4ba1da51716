//! What a stage changed relative to its input, for trainer mode: items it
//! added, moved, rewrote or coded, and items it dropped.

use crate::pipeline::Item;
use crate::text::normalize_name;

/// How an output item relates to the stage's input.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mark {
    Same,
    /// Not in the input.
    Added,
    /// In the input, at another rank.
    Moved,
    /// Same item, new name or code (standardized, mapped).
    Changed,
}

impl Mark {
    /// One-column marker shown before the item.
    pub fn symbol(self) -> &'static str {
        match self {
            Mark::Same => " ",
            Mark::Added => "+",
            Mark::Moved => "↕",
            Mark::Changed => "~",
        }
    }
}

/// The change a stage made.
#[derive(Debug, Clone, PartialEq)]
pub struct StageDiff {
    /// One mark per output item.
    pub marks: Vec<Mark>,
    /// Input items missing from the output.
    pub removed: Vec<Item>,
}

fn key(item: &Item) -> String {
    normalize_name(&item.text)
}

/// Compares a stage's output with its input. The first stage has no input
/// list: its items are compared with the raw text they came from.
pub fn diff(input: &[Item], output: &[Item]) -> StageDiff {
    if input.is_empty() {
        let marks = output
            .iter()
            .map(|it| match &it.source {
                Some(src) if normalize_name(src) == key(it) => Mark::Same,
                Some(_) => Mark::Changed,
                None => Mark::Added,
            })
            .collect();
        return StageDiff {
            marks,
            removed: Vec::new(),
        };
    }
    let in_keys: Vec<String> = input.iter().map(key).collect();
    let mut used = vec![false; input.len()];
    // Where each output item came from in the input.
    let origin: Vec<Option<usize>> = output
        .iter()
        .map(|it| {
            let k = key(it);
            let hit = (0..input.len()).find(|&i| !used[i] && in_keys[i] == k);
            if let Some(i) = hit {
                used[i] = true;
            }
            hit
        })
        .collect();
    let kept: Vec<usize> = origin.iter().flatten().copied().collect();
    let mut sorted = kept.clone();
    sorted.sort_unstable();
    let mut rank = 0;
    let marks = origin
        .iter()
        .zip(output)
        .map(|(o, it)| match o {
            None => Mark::Added,
            Some(i) => {
                let moved = sorted[rank] != *i;
                rank += 1;
                if moved {
                    Mark::Moved
                } else if input[*i].code != it.code {
                    Mark::Changed
                } else {
                    Mark::Same
                }
            }
        })
        .collect();
    let removed = input
        .iter()
        .zip(&used)
        .filter(|(_, u)| !**u)
        .map(|(it, _)| it.clone())
        .collect();
    StageDiff { marks, removed }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::pipeline::Origin;

    fn items(v: &[&str]) -> Vec<Item> {
        v.iter().map(|t| Item::new(*t, Origin::Agent)).collect()
    }

    #[test]
    fn finds_added_moved_and_removed() {
        let d = diff(&items(&["a", "b", "c"]), &items(&["b", "a", "c", "d"]));
        assert_eq!(d.marks, [Mark::Moved, Mark::Moved, Mark::Same, Mark::Added]);
        assert!(d.removed.is_empty());
        let d = diff(&items(&["a", "b", "c"]), &items(&["a", "c"]));
        assert_eq!(d.marks, [Mark::Same, Mark::Same]);
        assert_eq!(d.removed.len(), 1);
        let mut coded = items(&["a"]);
        coded[0].code = Some("I10".into());
        assert_eq!(diff(&items(&["a"]), &coded).marks, [Mark::Changed]);
    }

    #[test]
    fn first_stage_compares_with_source_text() {
        let out = vec![
            Item::new("高血压3级(极高危)", Origin::Agent).with_source("高血压病3级（很高危）"),
            Item::new("2型糖尿病", Origin::Agent).with_source("2型糖尿病"),
        ];
        assert_eq!(diff(&[], &out).marks, [Mark::Changed, Mark::Same]);
    }
}
