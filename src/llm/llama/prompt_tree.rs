//! The suffixes of one chunk laid out as a prefix tree, so that tokens the
//! suffixes share at the same place are decoded once.
//!
//! The questions of one stage differ only near their ends: the same task
//! text, the same list of the record's items, then the item asked about.
//! Decoded one suffix per sequence, every copy of the common part costs as
//! much as the first, and on a CPU the prompt is most of a record's time.
//! A llama.cpp batch token may belong to several sequences: the tree puts
//! each distinct (place, token) once with every sequence that has it, and
//! the unified KV cache keeps one cell for them all. Each sequence then sees
//! exactly the tokens it would have seen alone, at the same positions, so
//! the answers are unchanged.

/// One token of the tree: decoded once for `runs` (indices into the
/// chunk's runs), at `depth` tokens after the shared prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct TreeToken<T> {
    pub token: T,
    pub depth: usize,
    pub runs: Vec<usize>,
    /// Runs whose suffix ends here: they sample their first answer token
    /// from this token's logits.
    pub ends: Vec<usize>,
}

/// Lays out `suffixes` (one per run) as a prefix tree in depth-first order:
/// a token always comes after the token before it in each of its runs, so
/// the tree may be cut into batches anywhere. An empty suffix has no token
/// (the caller gives every run at least one).
pub(crate) fn prompt_tree<T: Copy + PartialEq>(suffixes: &[&[T]]) -> Vec<TreeToken<T>> {
    let mut out = Vec::new();
    let mut stack: Vec<(Vec<usize>, usize)> = vec![((0..suffixes.len()).collect(), 0)];
    while let Some((members, depth)) = stack.pop() {
        // Members by their token at `depth`, in order of first appearance.
        let mut branches: Vec<(T, Vec<usize>)> = Vec::new();
        for &k in &members {
            let Some(&t) = suffixes[k].get(depth) else {
                continue;
            };
            match branches.iter_mut().find(|(b, _)| *b == t) {
                Some((_, runs)) => runs.push(k),
                None => branches.push((t, vec![k])),
            }
        }
        // Pushed in reverse so the first branch is laid out first.
        let mut children = Vec::new();
        for (token, runs) in branches {
            let (ends, rest): (Vec<usize>, Vec<usize>) =
                runs.iter().partition(|&&k| suffixes[k].len() == depth + 1);
            out.push(TreeToken {
                token,
                depth,
                runs,
                ends,
            });
            if !rest.is_empty() {
                children.push((rest, depth + 1));
            }
        }
        stack.extend(children.into_iter().rev());
    }
    out
}

/// For each run, how many of its suffix tokens an earlier run already
/// decoded (the tree token's first run pays for it).
pub(crate) fn shared_counts<T>(tree: &[TreeToken<T>], runs: usize) -> Vec<usize> {
    let mut shared = vec![0; runs];
    for t in tree {
        for &k in t.runs.iter().skip(1) {
            shared[k] += 1;
        }
    }
    shared
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens(s: &str) -> Vec<char> {
        s.chars().collect()
    }

    /// Every run's path through the tree, in order, is its suffix.
    fn paths(tree: &[TreeToken<char>], n: usize) -> Vec<String> {
        let mut out = vec![String::new(); n];
        for t in tree {
            for &k in &t.runs {
                assert_eq!(out[k].chars().count(), t.depth, "run {k} skips a place");
                out[k].push(t.token);
            }
        }
        out
    }

    #[test]
    fn common_beginnings_are_laid_out_once() {
        let s = [
            "校验：甲乙丙。项：甲",
            "校验：甲乙丙。项：乙",
            "标准化：丁",
            "校验：甲乙丙。项：甲",
        ];
        let owned: Vec<Vec<char>> = s.iter().map(|x| tokens(x)).collect();
        let refs: Vec<&[char]> = owned.iter().map(Vec::as_slice).collect();
        let tree = prompt_tree(&refs);
        assert_eq!(paths(&tree, 4), s.map(String::from).to_vec());
        // 9 shared characters + 甲 + 乙 (runs 0 and 3 identical) + 标准化：丁.
        assert_eq!(tree.len(), 9 + 2 + 5);
        assert_eq!(shared_counts(&tree, 4), vec![0, 9, 0, 10]);
        // Both identical runs end on the same token; each run ends once.
        let mut ends: Vec<usize> = tree.iter().flat_map(|t| t.ends.clone()).collect();
        ends.sort();
        assert_eq!(ends, vec![0, 1, 2, 3]);
        let last = tree.iter().find(|t| t.ends.contains(&0)).unwrap();
        assert_eq!(last.ends, vec![0, 3]);
    }

    #[test]
    fn a_suffix_that_is_the_start_of_another_ends_inside_it() {
        let owned = [tokens("ab"), tokens("abcd"), tokens("x")];
        let refs: Vec<&[char]> = owned.iter().map(Vec::as_slice).collect();
        let tree = prompt_tree(&refs);
        assert_eq!(paths(&tree, 3), vec!["ab", "abcd", "x"]);
        let b = tree.iter().find(|t| t.token == 'b').unwrap();
        assert_eq!((b.runs.clone(), b.ends.clone()), (vec![0, 1], vec![0]));
        assert_eq!(tree.len(), 5);
    }

    #[test]
    fn each_token_follows_its_predecessor() {
        let owned = [tokens("abc"), tokens("abd"), tokens("aec"), tokens("f")];
        let refs: Vec<&[char]> = owned.iter().map(Vec::as_slice).collect();
        let tree = prompt_tree(&refs);
        for (i, t) in tree.iter().enumerate().filter(|(_, t)| t.depth > 0) {
            for &k in &t.runs {
                assert!(
                    tree[..i]
                        .iter()
                        .any(|p| p.depth == t.depth - 1 && p.runs.contains(&k)),
                    "token {i} of run {k} comes before its predecessor"
                );
            }
        }
        assert_eq!(tree.len(), 7);
    }

    #[test]
    fn no_suffixes_no_tokens() {
        let refs: Vec<&[char]> = Vec::new();
        assert!(prompt_tree(&refs).is_empty());
    }
}
