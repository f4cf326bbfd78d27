//! Light stemmers: they remove only the plural and gender endings of nouns and adjectives, where
//! the Snowball stemmers, built for running text, sometimes take a noun for a verb and cut its
//! singular and its plural differently. Italian "camera" is stemmed "camer" but "camere" "cam" (as
//! if "-ere" were an infinitive), "polvere" "polv" but "polveri" "polver"; Spanish "germen"
//! "germ" but "gérmenes" "germen". The light forms of both agree ("camer", "polver", "germen").
//!
//! They are the algorithms of J. Savoy ("Report on CLEF-2001 Experiments", as in Lucene's
//! `ItalianLightStemmer` and `SpanishLightStemmer`). The thesaurus matches query words to its terms
//! in these forms as well as in the Snowball ones; the index keeps its Snowball fields.

use super::Language;

/// The light stem of `word` (lowercased and ASCII-folded), for the languages that have a light
/// stemmer; `None` for the others.
pub fn light_stem(language: Language, word: &str) -> Option<String> {
    let mut chars: Vec<char> = word.chars().collect();
    let keep = match language {
        Language::Italian => italian(&chars),
        Language::Spanish => spanish(&mut chars),
        _ => return None,
    };
    chars.truncate(keep);
    Some(chars.into_iter().collect())
}

/// How many characters of the word to keep.
fn italian(word: &[char]) -> usize {
    let length = word.len();
    if length < 6 {
        return length;
    }
    let before_last = word[length - 2];
    match word[length - 1] {
        // "anecoiche" → "anecoic", "camere" → "camer"
        'e' if before_last == 'i' || before_last == 'h' => length - 2,
        // "anecoichi" → "anecoic", "laboratori" → "laborator"
        'i' if before_last == 'h' || before_last == 'i' => length - 2,
        // "camera" → "camer", "laboratorio" → "laborator"
        'a' | 'o' if before_last == 'i' => length - 2,
        'e' | 'i' | 'a' | 'o' => length - 1,
        _ => length,
    }
}

/// How many characters of the word to keep; may turn a plural's "c" back into the singular's "z".
fn spanish(word: &mut [char]) -> usize {
    let length = word.len();
    if length < 5 {
        return length;
    }
    match word[length - 1] {
        // "cámara" → "camar", "germen" stays
        'o' | 'a' | 'e' => length - 1,
        's' => match (word[length - 4], word[length - 3], word[length - 2]) {
            // "meses" → "mes"
            ('e', 's', 'e') => length - 2,
            // "luces" → "luz"
            (_, 'c', 'e') => {
                word[length - 3] = 'z';
                length - 2
            }
            // "cámaras" → "camar", "gérmenes" → "germen"
            (_, _, 'o' | 'a' | 'e') => length - 2,
            _ => length,
        },
        _ => length,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn italian(word: &str) -> String {
        light_stem(Language::Italian, word).expect("Italian has a light stemmer")
    }

    fn spanish(word: &str) -> String {
        light_stem(Language::Spanish, word).expect("Spanish has a light stemmer")
    }

    #[test]
    fn italian_singulars_and_plurals_meet() {
        for (singular, plural) in [
            ("camera", "camere"),
            ("anecoica", "anecoiche"),
            ("anecoico", "anecoici"),
            ("polvere", "polveri"),
            ("laboratorio", "laboratori"),
            ("spettrometro", "spettrometri"),
        ] {
            assert_eq!(italian(singular), italian(plural), "{singular} {plural}");
        }
        assert_eq!(italian("camere"), "camer");
        // Short words are left alone.
        assert_eq!(italian("sale"), "sale");
    }

    #[test]
    fn spanish_singulars_and_plurals_meet() {
        for (singular, plural) in [
            ("germen", "germenes"),
            ("camara", "camaras"),
            ("raton", "ratones"),
            ("luz", "luces"),
            ("anecoica", "anecoicas"),
        ] {
            assert_eq!(spanish(singular), spanish(plural), "{singular} {plural}");
        }
    }

    #[test]
    fn languages_without_a_light_stemmer_have_none() {
        assert_eq!(light_stem(Language::German, "kammern"), None);
        assert_eq!(light_stem(Language::Polish, "komory"), None);
    }
}
