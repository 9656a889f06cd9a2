//! Builders shared by the unit tests of several modules.

/// A minimal IPv4-typed Ethernet frame from `src` to `dst` (60 bytes).
pub(crate) fn frame(dst: [u8; 6], src: [u8; 6]) -> Vec<u8> {
    let mut f = dst.to_vec();
    f.extend_from_slice(&src);
    f.extend_from_slice(&[0x08, 0x00]);
    f.extend_from_slice(&[0u8; 46]);
    f
}
