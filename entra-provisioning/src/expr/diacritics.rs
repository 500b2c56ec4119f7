//! NormalizeDiacritics: the reference's table of characters with diacritics and their plain
//! equivalents. Canonical decomposition (NFD) with the combining marks dropped covers most of
//! it; the letters that do not decompose are mapped first (æ → ae, ø → oe, ß → ss, ł → l, ı → i).

use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;

/// `s` with every diacritic of the reference's table removed or replaced. Only marks on
/// Latin letters go (the table is Latin); other scripts keep theirs and are recomposed (NFC),
/// so "が" stays "が".
pub fn normalize(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let mut latin_base = false;
    for c in s.nfd() {
        if is_combining_mark(c) {
            if !latin_base {
                out.push(c);
            }
            continue;
        }
        latin_base = is_latin(c);
        match c {
            'æ' => out.push_str("ae"),
            'Æ' => out.push_str("AE"),
            'ø' | 'œ' => out.push_str("oe"),
            'Ø' | 'Œ' => out.push_str("OE"),
            'ß' => out.push_str("ss"),
            'ł' => out.push('l'),
            'Ł' => out.push('L'),
            'ı' => out.push('i'),
            c => out.push(c),
        }
    }
    out.nfc().collect()
}

/// Basic Latin, Latin-1, Latin Extended-A/B and Additional letters.
fn is_latin(c: char) -> bool {
    c.is_ascii_alphabetic() || matches!(c, '\u{00C0}'..='\u{024F}' | '\u{1E00}'..='\u{1EFF}')
}
