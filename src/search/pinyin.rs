//! Pinyin initials of names, for the abbreviations coders type
//! (`gxy` → 高血压, `gxb` → 冠心病).

use pinyin::ToPinyin;

use crate::text::normalize_name;

/// First pinyin letter of each hanzi; Latin letters and digits kept as they
/// are (lowercase); everything else (brackets, punctuation, hanzi without a
/// reading) dropped. `高血压病3级（极高危）` → `gxyb3jjgw`.
pub fn initials(name: &str) -> String {
    let norm = normalize_name(name);
    let mut out = String::with_capacity(norm.len() / 2);
    for c in norm.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else if let Some(p) = c.to_pinyin() {
            out.push_str(p.first_letter());
        }
    }
    out
}

/// True when a query reads as pinyin initials: 2–8 ASCII letters.
pub fn looks_like_initials(q: &str) -> bool {
    let q = q.trim();
    (2..=8).contains(&q.len()) && q.chars().all(|c| c.is_ascii_alphabetic())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn initials_of_common_names() {
        assert_eq!(initials("高血压"), "gxy");
        assert_eq!(initials("冠心病"), "gxb");
        assert_eq!(initials("高血压病3级（极高危）"), "gxyb3jjgw");
        assert_eq!(initials("2型糖尿病"), "2xtnb");
        assert_eq!(initials("Ⅱ度房室传导阻滞"), "iidfscdzz");
        assert_eq!(initials("获得性免疫缺陷综合征[HIV]"), "hdxmyqxzhzhiv");
    }

    #[test]
    fn initials_queries() {
        assert!(looks_like_initials("gxy"));
        assert!(!looks_like_initials("g"));
        assert!(!looks_like_initials("I10"));
        assert!(!looks_like_initials("高血压"));
        assert!(!looks_like_initials("abcdefghi"));
    }
}
