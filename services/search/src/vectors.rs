//! The installations' embeddings, held in memory beside the index, and the exact scan that ranks
//! them by cosine to a query's. The registry computes and stores them; the index only reads.
//!
//! Exact is cheap enough here: 10,000 vectors of 512 floats are 20 MB, one pass of multiply-adds
//! (see `docs/benchmarks.md` for the measured time), so no approximate index is kept.

use std::collections::HashMap;

use crate::error::{SearchError, SearchResult};

/// Unit vectors by document id, all of one dimension (set by the first one).
#[derive(Debug, Default)]
pub struct Vectors {
    dimension: Option<usize>,
    ids: Vec<String>,
    /// `ids.len()` rows of `dimension` values, row `i` belonging to `ids[i]`.
    values: Vec<f32>,
    rows: HashMap<String, usize>,
}

impl Vectors {
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Sets the vector of `id`, replacing any it had.
    pub fn set(&mut self, id: &str, vector: &[f32]) -> SearchResult<()> {
        self.check_dimension(vector.len())?;
        match self.rows.get(id) {
            Some(&row) => {
                let dimension = vector.len();
                self.values[row * dimension..(row + 1) * dimension].copy_from_slice(vector);
            }
            None => {
                self.rows.insert(id.to_owned(), self.ids.len());
                self.ids.push(id.to_owned());
                self.values.extend_from_slice(vector);
            }
        }
        if self.ids.len() == 1 {
            self.dimension = Some(vector.len());
        }
        Ok(())
    }

    pub fn remove(&mut self, id: &str) {
        let (Some(row), Some(dimension)) = (self.rows.remove(id), self.dimension) else {
            return;
        };
        let last = self.ids.len() - 1;
        if row != last {
            self.values
                .copy_within(last * dimension..(last + 1) * dimension, row * dimension);
            self.ids.swap(row, last);
            self.rows.insert(self.ids[row].clone(), row);
        }
        self.ids.pop();
        self.values.truncate(last * dimension);
    }

    pub fn clear(&mut self) {
        *self = Vectors::default();
    }

    /// The ids whose cosine with `query` (a unit vector, as the stored ones are) is at least
    /// `min_similarity`, most similar first, equal ones by id.
    pub fn nearest(&self, query: &[f32], min_similarity: f32) -> SearchResult<Vec<(&str, f32)>> {
        let Some(dimension) = self.dimension else {
            return Ok(Vec::new());
        };
        self.check_dimension(query.len())?;
        let mut found: Vec<(&str, f32)> = self
            .values
            .chunks_exact(dimension)
            .zip(&self.ids)
            .map(|(row, id)| (id.as_str(), dot(row, query)))
            .filter(|(_, similarity)| *similarity >= min_similarity)
            .collect();
        found.sort_unstable_by(|(left_id, left), (right_id, right)| {
            right.total_cmp(left).then_with(|| left_id.cmp(right_id))
        });
        Ok(found)
    }

    fn check_dimension(&self, length: usize) -> SearchResult<()> {
        match self.dimension {
            Some(dimension) if dimension != length && !self.ids.is_empty() => Err(SearchError::VectorDimension {
                expected: dimension,
                found: length,
            }),
            _ if length == 0 => Err(SearchError::VectorDimension {
                expected: self.dimension.unwrap_or(1),
                found: 0,
            }),
            _ => Ok(()),
        }
    }
}

/// Eight independent sums, so that the compiler can keep them in vector registers.
fn dot(left: &[f32], right: &[f32]) -> f32 {
    let mut sums = [0.0_f32; 8];
    let (left_chunks, right_chunks) = (left.chunks_exact(8), right.chunks_exact(8));
    let tail: f32 = left_chunks
        .remainder()
        .iter()
        .zip(right_chunks.remainder())
        .map(|(a, b)| a * b)
        .sum();
    for (a, b) in left_chunks.zip(right_chunks) {
        for lane in 0..8 {
            sums[lane] += a[lane] * b[lane];
        }
    }
    sums.iter().sum::<f32>() + tail
}

#[cfg(test)]
mod tests {
    use super::*;

    fn unit(values: &[f32]) -> Vec<f32> {
        let norm = values.iter().map(|value| value * value).sum::<f32>().sqrt();
        values.iter().map(|value| value / norm).collect()
    }

    #[test]
    fn nearest_ranks_by_cosine_above_the_threshold_and_breaks_ties_by_id() {
        let mut vectors = Vectors::default();
        vectors.set("c", &unit(&[1.0, 1.0, 0.0])).expect("set");
        vectors.set("a", &unit(&[1.0, 0.0, 0.0])).expect("set");
        vectors.set("b", &unit(&[1.0, 0.0, 0.0])).expect("set");
        vectors.set("d", &unit(&[0.0, 0.0, 1.0])).expect("set");
        let found = vectors.nearest(&unit(&[1.0, 0.1, 0.0]), 0.5).expect("nearest");
        let ids: Vec<&str> = found.iter().map(|(id, _)| *id).collect();
        assert_eq!(ids, ["a", "b", "c"], "{found:?}");
    }

    #[test]
    fn set_replaces_and_remove_keeps_the_other_rows_intact() {
        let mut vectors = Vectors::default();
        for (id, axis) in [("x", 0), ("y", 1), ("z", 2)] {
            let mut vector = vec![0.0; 3];
            vector[axis] = 1.0;
            vectors.set(id, &vector).expect("set");
        }
        vectors.remove("x");
        vectors.set("y", &[0.0, 0.0, 1.0]).expect("replaced");
        assert_eq!(vectors.len(), 2);
        let found = vectors.nearest(&[0.0, 0.0, 1.0], 0.9).expect("nearest");
        assert_eq!(found, [("y", 1.0), ("z", 1.0)]);
        assert!(vectors.nearest(&[1.0, 0.0, 0.0], 0.1).expect("nearest").is_empty());
    }

    #[test]
    fn a_vector_of_another_dimension_is_refused() {
        let mut vectors = Vectors::default();
        vectors.set("x", &[1.0, 0.0]).expect("set");
        assert!(matches!(
            vectors.set("y", &[1.0, 0.0, 0.0]),
            Err(SearchError::VectorDimension { expected: 2, found: 3 })
        ));
        assert!(vectors.nearest(&[1.0], 0.0).is_err());
        assert!(vectors.set("z", &[]).is_err());
    }

    #[test]
    fn the_dot_product_counts_every_component() {
        let left: Vec<f32> = (0..19).map(|value| value as f32).collect();
        let expected: f32 = left.iter().map(|value| value * value).sum();
        assert_eq!(dot(&left, &left), expected);
    }
}
