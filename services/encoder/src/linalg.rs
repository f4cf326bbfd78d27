//! The little linear algebra the network needs: dense row-major matrices and layer norm.
//!
//! Plain loops over contiguous rows, which the compiler vectorizes; the network is small (a few
//! tens of millions of multiply-adds for a query), so no BLAS is needed.

/// A dense row-major matrix of `f32`, as NumPy stores a C-ordered 2-D array.
pub(crate) struct Matrix {
    pub(crate) rows: usize,
    pub(crate) columns: usize,
    pub(crate) values: Vec<f32>,
}

/// Rows of the input handled together, so each weight row is read once for all of them.
const ROW_BLOCK: usize = 4;

impl Matrix {
    /// Joins matrices with the same number of rows side by side (`np.concatenate(axis=1)`).
    pub(crate) fn side_by_side(parts: &[Matrix]) -> Matrix {
        let rows = parts.first().map_or(0, |part| part.rows);
        let columns = parts.iter().map(|part| part.columns).sum();
        let mut values = Vec::with_capacity(rows * columns);
        for row in 0..rows {
            for part in parts {
                values.extend_from_slice(part.row(row));
            }
        }
        Matrix { rows, columns, values }
    }

    fn row(&self, row: usize) -> &[f32] {
        &self.values[row * self.columns..(row + 1) * self.columns]
    }

    /// `input @ self`, for `input` holding `input.len() / self.rows` rows of `self.rows` values,
    /// added to `output` (one row of `self.columns` per input row).
    pub(crate) fn multiply_add(&self, input: &[f32], output: &mut [f32]) {
        let input_rows = input.len() / self.rows;
        debug_assert_eq!(output.len(), input_rows * self.columns);
        for block_start in (0..input_rows).step_by(ROW_BLOCK) {
            let block_end = (block_start + ROW_BLOCK).min(input_rows);
            for inner in 0..self.rows {
                let weights = self.row(inner);
                for row in block_start..block_end {
                    let factor = input[row * self.rows + inner];
                    // After a ReLU most inputs are zero: skip them.
                    if factor == 0.0 {
                        continue;
                    }
                    let out = &mut output[row * self.columns..(row + 1) * self.columns];
                    for (value, weight) in out.iter_mut().zip(weights) {
                        *value += factor * weight;
                    }
                }
            }
        }
    }

    /// `input @ self + bias` (the bias repeated on every row).
    pub(crate) fn affine(&self, input: &[f32], bias: &[f32]) -> Vec<f32> {
        let mut output = bias.repeat(input.len() / self.rows);
        self.multiply_add(input, &mut output);
        output
    }

    /// `input @ self`.
    pub(crate) fn product(&self, input: &[f32]) -> Vec<f32> {
        let mut output = vec![0.0; input.len() / self.rows * self.columns];
        self.multiply_add(input, &mut output);
        output
    }
}

/// Layer normalization over each row, with a learned gain and offset per column.
pub(crate) struct LayerNorm {
    pub(crate) gain: Vec<f32>,
    pub(crate) offset: Vec<f32>,
}

impl LayerNorm {
    /// Normalizes each row of `values` in place, in the reference's order of operations.
    pub(crate) fn apply(&self, values: &mut [f32], epsilon: f32) {
        let width = self.gain.len();
        for row in values.chunks_exact_mut(width) {
            let mean = row.iter().sum::<f32>() / width as f32;
            row.iter_mut().for_each(|value| *value -= mean);
            let variance = row.iter().map(|value| value * value).sum::<f32>() / width as f32;
            let scale = 1.0 / (variance + epsilon).sqrt();
            for ((value, gain), offset) in row.iter_mut().zip(&self.gain).zip(&self.offset) {
                *value = *value * scale * gain + offset;
            }
        }
    }
}

/// `max(value, 0)` on every value.
pub(crate) fn relu(values: &mut [f32]) {
    values.iter_mut().for_each(|value| *value = value.max(0.0));
}

/// Adds `other` to `values`, value by value.
pub(crate) fn add(values: &mut [f32], other: &[f32]) {
    values
        .iter_mut()
        .zip(other)
        .for_each(|(value, addend)| *value += addend);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn multiplies_rows_by_a_matrix_and_adds_the_bias() {
        let matrix = Matrix {
            rows: 2,
            columns: 3,
            values: vec![1.0, 2.0, 3.0, 4.0, 5.0, 6.0],
        };
        let output = matrix.affine(&[1.0, 0.0, 0.0, 2.0], &[0.5, 0.5, 0.5]);
        assert_eq!(output, vec![1.5, 2.5, 3.5, 8.5, 10.5, 12.5]);
    }

    #[test]
    fn joins_matrices_side_by_side() {
        let left = Matrix {
            rows: 2,
            columns: 1,
            values: vec![1.0, 2.0],
        };
        let right = Matrix {
            rows: 2,
            columns: 2,
            values: vec![3.0, 4.0, 5.0, 6.0],
        };
        let joined = Matrix::side_by_side(&[left, right]);
        assert_eq!(joined.values, vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
    }

    #[test]
    fn layer_norm_gives_each_row_zero_mean_and_unit_variance_before_gain_and_offset() {
        let norm = LayerNorm {
            gain: vec![2.0; 4],
            offset: vec![1.0; 4],
        };
        let mut values = vec![1.0, 2.0, 3.0, 4.0];
        norm.apply(&mut values, 1e-12);
        let mean = values.iter().map(|value| (value - 1.0) / 2.0).sum::<f32>() / 4.0;
        let variance = values.iter().map(|value| ((value - 1.0) / 2.0).powi(2)).sum::<f32>() / 4.0;
        assert!(mean.abs() < 1e-6, "{mean}");
        assert!((variance - 1.0).abs() < 1e-5, "{variance}");
    }
}
