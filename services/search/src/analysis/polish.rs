//! Polish for the analyzers: tantivy's `Language` has no Polish, so a token filter over frostem's
//! Snowball Polish stemmer, and a short stop-word list (tantivy ships none).

use std::borrow::Cow;
use std::mem;

use tantivy::tokenizer::{Token, TokenFilter, TokenStream, Tokenizer};

/// The most frequent Polish function words (conjunctions, prepositions, pronouns, forms of "być"),
/// lowercased with their diacritics: the filter runs before ASCII folding.
pub const POLISH_STOP_WORDS: &[&str] = &[
    "a", "aby", "ale", "ani", "bez", "bo", "by", "być", "był", "była", "było", "były", "będzie", "co", "czy", "dla",
    "do", "gdy", "gdzie", "i", "ich", "im", "jak", "jako", "je", "jego", "jej", "jest", "już", "lub", "ma", "mają",
    "może", "na", "nad", "nie", "niż", "o", "od", "oraz", "po", "pod", "przed", "przez", "przy", "się", "są", "ta",
    "tak", "także", "te", "tego", "tej", "ten", "to", "tu", "tylko", "u", "w", "we", "wraz", "z", "za", "ze", "że",
];

/// Stems each token with frostem's Polish algorithm. Tokens must already be lowercased.
#[derive(Clone, Copy, Debug, Default)]
pub struct PolishStemmer;

impl TokenFilter for PolishStemmer {
    type Tokenizer<T: Tokenizer> = PolishStemmerFilter<T>;

    fn transform<T: Tokenizer>(self, tokenizer: T) -> PolishStemmerFilter<T> {
        PolishStemmerFilter { inner: tokenizer }
    }
}

#[derive(Clone)]
pub struct PolishStemmerFilter<T> {
    inner: T,
}

impl<T: Tokenizer> Tokenizer for PolishStemmerFilter<T> {
    type TokenStream<'a> = PolishStemmerTokenStream<T::TokenStream<'a>>;

    fn token_stream<'a>(&'a mut self, text: &'a str) -> Self::TokenStream<'a> {
        PolishStemmerTokenStream {
            tail: self.inner.token_stream(text),
            stemmer: frostem::Stemmer::new(frostem::Algorithm::Polish),
            buffer: String::new(),
        }
    }
}

pub struct PolishStemmerTokenStream<T> {
    tail: T,
    stemmer: frostem::Stemmer,
    /// Reused for stems that borrow from the token, so stemming allocates only when it must.
    buffer: String,
}

impl<T: TokenStream> TokenStream for PolishStemmerTokenStream<T> {
    fn advance(&mut self) -> bool {
        if !self.tail.advance() {
            return false;
        }
        let token = self.tail.token_mut();
        match self.stemmer.stem(&token.text) {
            Cow::Owned(stem) => token.text = stem,
            Cow::Borrowed(stem) => {
                self.buffer.clear();
                self.buffer.push_str(stem);
                mem::swap(&mut token.text, &mut self.buffer);
            }
        }
        true
    }

    fn token(&self) -> &Token {
        self.tail.token()
    }

    fn token_mut(&mut self) -> &mut Token {
        self.tail.token_mut()
    }
}
