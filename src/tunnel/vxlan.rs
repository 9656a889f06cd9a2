//! The VXLAN header (RFC 7348 §5): 8 bytes, flags 0x08 (VNI valid), a 24-bit VNI.

/// Length of the VXLAN header.
pub const HEADER_LEN: usize = 8;
/// The I flag: the VNI field is valid. RFC 7348 requires it set and every other flag bit clear.
const FLAG_VNI: u8 = 0x08;

/// Why a datagram is not a VXLAN frame we accept.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VxlanError {
    /// Shorter than the header plus an Ethernet header.
    Short,
    /// Flags other than exactly the I flag.
    BadFlags,
    /// A VNI this listener does not serve.
    WrongVni,
}

/// Strip and check the VXLAN header; returns the inner frame.
pub fn decap(datagram: &[u8], vni: u32) -> Result<&[u8], VxlanError> {
    match decap_any(datagram)? {
        (got, frame) if got == vni => Ok(frame),
        _ => Err(VxlanError::WrongVni),
    }
}

/// Strip and check the VXLAN header; returns the VNI and the inner frame.
pub fn decap_any(datagram: &[u8]) -> Result<(u32, &[u8]), VxlanError> {
    let (header, frame) = datagram
        .split_first_chunk::<HEADER_LEN>()
        .ok_or(VxlanError::Short)?;
    // Reserved bits are "ignored on receipt" by RFC 7348, but the I flag must
    // be set; the Linux driver also refuses unknown flags without extensions.
    if header[0] != FLAG_VNI {
        return Err(VxlanError::BadFlags);
    }
    if frame.len() < crate::packet::ethernet::HEADER_LEN {
        return Err(VxlanError::Short);
    }
    Ok((
        u32::from_be_bytes([0, header[4], header[5], header[6]]),
        frame,
    ))
}

/// The header to put in front of frames for `vni`.
pub fn header(vni: u32) -> [u8; HEADER_LEN] {
    let v = vni.to_be_bytes();
    [FLAG_VNI, 0, 0, 0, v[1], v[2], v[3], 0]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn header_round_trips() {
        let mut d = header(42).to_vec();
        d.extend_from_slice(&[0u8; 14]);
        assert_eq!(&d[..8], &[0x08, 0, 0, 0, 0, 0, 42, 0]);
        assert_eq!(decap(&d, 42).unwrap().len(), 14);
    }

    #[test]
    fn rejects_wrong_vni_flags_and_short() {
        let mut d = header(42).to_vec();
        d.extend_from_slice(&[0u8; 14]);
        assert_eq!(decap(&d, 43), Err(VxlanError::WrongVni));
        d[0] = 0x0c;
        assert_eq!(decap(&d, 42), Err(VxlanError::BadFlags));
        assert_eq!(decap(&header(42), 42), Err(VxlanError::Short));
        assert_eq!(decap(&[0x08, 0, 0], 42), Err(VxlanError::Short));
    }
}
