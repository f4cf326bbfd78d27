//! The little linear algebra the network needs: dense row-major matrices and layer norm.
//!
//! A packed, register-blocked product in plain loops, which the compiler vectorizes: the network
//! is small (about twenty million multiply-adds for a query), so no BLAS is needed.

/// Columns of one panel: the kernel keeps a block of rows × this many outputs in registers.
const PANEL: usize = 8;
/// Input rows the kernel handles together, so each weight is loaded once for all of them.
const ROW_BLOCK: usize = 4;

/// A dense matrix of `f32`, kept as panels of [`PANEL`] columns, each panel's rows contiguous,
/// so that a product streams the weights in order (the packing of GEMM kernels).
pub(crate) struct Matrix {
    rows: usize,
    columns: usize,
    panels: Vec<f32>,
}

impl Matrix {
    /// Packs a row-major matrix, as NumPy stores a C-ordered 2-D array.
    pub(crate) fn from_row_major(rows: usize, columns: usize, values: &[f32]) -> Matrix {
        debug_assert_eq!(values.len(), rows * columns);
        let panel_count = columns.div_ceil(PANEL);
        let mut panels = vec![0.0; panel_count * rows * PANEL];
        for (row, row_values) in values.chunks_exact(columns).enumerate() {
            for (column, &value) in row_values.iter().enumerate() {
                let panel = column / PANEL;
                panels[(panel * rows + row) * PANEL + column % PANEL] = value;
            }
        }
        Matrix { rows, columns, panels }
    }

    /// `input @ self`, for `input` holding `input.len() / self.rows` rows of `self.rows` values,
    /// added to `output` (one row of `self.columns` per input row).
    pub(crate) fn multiply_add(&self, input: &[f32], output: &mut [f32]) {
        let input_rows = input.len() / self.rows;
        debug_assert_eq!(output.len(), input_rows * self.columns);
        let whole_blocks = input_rows / ROW_BLOCK * ROW_BLOCK;
        for (panel, weights) in self.panels.chunks_exact(self.rows * PANEL).enumerate() {
            for first_row in (0..whole_blocks).step_by(ROW_BLOCK) {
                self.block::<ROW_BLOCK>(input, output, weights, panel, first_row);
            }
            match input_rows - whole_blocks {
                3 => self.block::<3>(input, output, weights, panel, whole_blocks),
                2 => self.block::<2>(input, output, weights, panel, whole_blocks),
                1 => self.block::<1>(input, output, weights, panel, whole_blocks),
                _ => {}
            }
        }
    }

    /// Adds `ROWS` input rows from `first_row` times one panel to their outputs, accumulating
    /// `ROWS × PANEL` sums in registers.
    fn block<const ROWS: usize>(
        &self,
        input: &[f32],
        output: &mut [f32],
        weights: &[f32],
        panel: usize,
        first_row: usize,
    ) {
        let mut sums = [[0.0_f32; PANEL]; ROWS];
        let inputs: [&[f32]; ROWS] = std::array::from_fn(|offset| {
            let row = first_row + offset;
            &input[row * self.rows..(row + 1) * self.rows]
        });
        for (inner, panel_row) in weights.chunks_exact(PANEL).enumerate() {
            for (sum, input_row) in sums.iter_mut().zip(&inputs) {
                let factor = input_row[inner];
                for (value, weight) in sum.iter_mut().zip(panel_row) {
                    *value += factor * weight;
                }
            }
        }
        let first_column = panel * PANEL;
        let width = PANEL.min(self.columns - first_column);
        for (offset, sum) in sums.iter().enumerate() {
            let start = (first_row + offset) * self.columns + first_column;
            add(&mut output[start..start + width], &sum[..width]);
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

/// Joins row-major matrices with `rows` rows side by side (`np.concatenate(axis=1)`).
pub(crate) fn side_by_side(parts: &[Vec<f32>], rows: usize) -> Vec<f32> {
    let mut joined = Vec::with_capacity(parts.iter().map(Vec::len).sum());
    for row in 0..rows {
        for part in parts {
            let columns = part.len() / rows;
            joined.extend_from_slice(&part[row * columns..(row + 1) * columns]);
        }
    }
    joined
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
        let matrix = Matrix::from_row_major(2, 3, &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0]);
        let output = matrix.affine(&[1.0, 0.0, 0.0, 2.0], &[0.5, 0.5, 0.5]);
        assert_eq!(output, vec![1.5, 2.5, 3.5, 8.5, 10.5, 12.5]);
    }

    #[test]
    fn multiplies_blocks_of_rows_and_the_rows_left_over_alike() {
        // 7 input rows (a block of 4 and a block of 3) by a 3 × 10 matrix (two panels, the
        // second partial), against the textbook triple loop.
        let (rows, inner, columns) = (7, 3, 10);
        let weights: Vec<f32> = (0..inner * columns).map(|value| value as f32 * 0.5 - 3.0).collect();
        let input: Vec<f32> = (0..rows * inner).map(|value| (value % 7) as f32 - 2.0).collect();
        let output = Matrix::from_row_major(inner, columns, &weights).product(&input);
        for row in 0..rows {
            for column in 0..columns {
                let expected: f32 = (0..inner)
                    .map(|index| input[row * inner + index] * weights[index * columns + column])
                    .sum();
                assert_eq!(output[row * columns + column], expected, "({row}, {column})");
            }
        }
    }

    #[test]
    fn joins_matrices_side_by_side() {
        let joined = side_by_side(&[vec![1.0, 2.0], vec![3.0, 4.0, 5.0, 6.0]], 2);
        assert_eq!(joined, vec![1.0, 3.0, 4.0, 2.0, 5.0, 6.0]);
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
