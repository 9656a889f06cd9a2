//! Port names to file names: one injective, reversible mapping for replay
//! outputs and live captures.
//!
//! Port names are free-form (`tap0`, `vxlan/10.0.0.2`, `raw/[fd00::1]:4800`)
//! and may hold `/`, `:` and brackets. Every byte outside `[A-Za-z0-9_.-]`
//! becomes `%XX` (uppercase hex), as does a leading `.` (so no name maps to
//! `.`, `..` or a hidden file). `%` itself is escaped, so two different port
//! names never share a file, and the name can be read back from the file.

/// The file stem for a port: `vxlan/10.0.0.2` becomes `vxlan%2F10.0.0.2`.
pub fn port_file_stem(port: &str) -> String {
    let mut out = String::with_capacity(port.len());
    for (i, b) in port.bytes().enumerate() {
        let plain = b.is_ascii_alphanumeric() || b == b'_' || b == b'-' || (b == b'.' && i > 0);
        if plain {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tunnel_peer_names_become_safe_distinct_file_names() {
        assert_eq!(port_file_stem("tap0"), "tap0");
        assert_eq!(port_file_stem("vxlan/10.0.0.2"), "vxlan%2F10.0.0.2");
        assert_eq!(
            port_file_stem("raw/[fd00::1]:4800"),
            "raw%2F%5Bfd00%3A%3A1%5D%3A4800"
        );
        assert_eq!(port_file_stem(".."), "%2E.");
        assert_ne!(port_file_stem("a/b"), port_file_stem("a%2Fb"));
        assert!(!port_file_stem("x/../../etc").contains('/'));
    }
}
