//! Where a net's residual blocks lie and how many inputs a weight sums: index arithmetic
//! that the config (its bounds and pool schedule), the model and the trainer share.
//!
//! It takes plain numbers and imports nothing from the crate, so any module may call it
//! and each rule is written once (METHOD.md, "Networks").

use std::ops::Range;

/// The residual blocks of a net of `depth` hidden weight layers, in order, as ranges of
/// layer indices: layer 0 is the stem and no block; from layer 1 on, blocks of two, the
/// last with one layer when `depth - 1` is odd. Depth 6: `1..3, 3..5, 5..6`.
pub fn residual_blocks(depth: usize) -> impl Iterator<Item = Range<usize>> {
    (1..depth).step_by(2).map(move |start| start..(start + 2).min(depth))
}

/// Whether hidden layer `layer` is the last of a residual block, where its branch is
/// summed with the skip (layers 2, 4, ... and the last layer; never the stem).
pub fn ends_block(layer: usize, depth: usize) -> bool {
    residual_blocks(depth).any(|block| block.end == layer + 1)
}

/// Inputs one output unit of a weight layer sums over, for `channels` input channels (a
/// dense layer's features): a 3x3 convolution (`conv`) reads 9 positions per channel. By
/// the same count, a spike reaches `fan_in(channels, conv)` synapses of a layer with
/// `channels` outputs (fewer at a conv map's border).
pub fn fan_in(channels: usize, conv: bool) -> usize {
    const KERNEL: usize = 3 * 3;
    if conv {
        channels * KERNEL
    } else {
        channels
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The layouts METHOD.md spells out: depth 6 is the stem and blocks (1, 2), (3, 4), (5);
    /// depth 2 the stem and one block of one layer; depth 1 the stem alone.
    #[test]
    fn blocks_pair_up_from_layer_one() {
        let blocks = |d| residual_blocks(d).collect::<Vec<_>>();
        assert_eq!(blocks(6), vec![1..3, 3..5, 5..6]);
        assert_eq!(blocks(5), vec![1..3, 3..5]);
        assert_eq!(blocks(2), vec![1..2]);
        assert!(blocks(1).is_empty() && blocks(0).is_empty());
        let ends = |d| (0..d).filter(|&l| ends_block(l, d)).collect::<Vec<_>>();
        assert_eq!(ends(6), vec![2, 4, 5]);
        assert_eq!(ends(5), vec![2, 4]);
        assert_eq!(ends(2), vec![1]);
        assert!(ends(1).is_empty(), "the stem ends no block");
    }

    #[test]
    fn a_conv_weight_reads_nine_positions_per_channel() {
        assert_eq!(fan_in(4, true), 36);
        assert_eq!(fan_in(4, false), 4);
    }
}
