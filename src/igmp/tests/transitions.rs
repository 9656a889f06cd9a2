//! RFC 3376 §6.4.1 / §6.4.2 (RFC 3810 §7.4.1 / §7.4.2): every transition,
//! for IGMPv3 and MLDv2, plus the expiries of §6.5 / §6.2.3 (E3–E6).
//!
//! Each row starts from a state built at t=0 (so old timers show 250 s at
//! t=10), applies one record at t=10 with our own querier, and checks the
//! filter mode, every source timer (0 = blocked), the group timer and the
//! specific queries requested (sources, S flag). Sets used:
//! INCLUDE(A), A={1,2}, record B={2,3}; EXCLUDE(X,Y), X={1,2}, Y={3,4},
//! record A={2,3,5}.

use super::*;
use crate::igmp::membership::FilterMode;
use RecordType::*;

enum Init {
    Include(&'static [u8]),
    Exclude { x: &'static [u8], y: &'static [u8] },
}

struct Row {
    name: &'static str,
    init: Init,
    record: RecordType,
    b: &'static [u8],
    mode: FilterMode,
    /// (source, timer ms at t=10); 0 = blocked.
    sources: &'static [(u8, u64)],
    group_timer_ms: Option<u64>,
    /// Queries requested: (sources, S flag); empty sources = Q(G).
    queries: &'static [(&'static [u8], bool)],
}

const A: &[u8] = &[1, 2];
const X: &[u8] = &[1, 2];
const Y: &[u8] = &[3, 4];

const ROWS: &[Row] = &[
    // §6.4.1 current-state records (E3).
    Row {
        name: "e3 INCLUDE(A)+IS_IN(B) -> INCLUDE(A+B), (B)=GMI",
        init: Init::Include(A),
        record: IsInclude,
        b: &[2, 3],
        mode: FilterMode::Include,
        sources: &[(1, 250_000), (2, 260_000), (3, 260_000)],
        group_timer_ms: None,
        queries: &[],
    },
    Row {
        name: "e3 INCLUDE(A)+IS_EX(B) -> EXCLUDE(A*B,B-A), (B-A)=0, del(A-B), GT=GMI",
        init: Init::Include(A),
        record: IsExclude,
        b: &[2, 3],
        mode: FilterMode::Exclude,
        sources: &[(2, 250_000), (3, 0)],
        group_timer_ms: Some(260_000),
        queries: &[],
    },
    Row {
        name: "e3 EXCLUDE(X,Y)+IS_IN(A) -> EXCLUDE(X+A,Y-A), (A)=GMI",
        init: Init::Exclude { x: X, y: Y },
        record: IsInclude,
        b: &[2, 3, 5],
        mode: FilterMode::Exclude,
        sources: &[(1, 250_000), (2, 260_000), (3, 260_000), (4, 0), (5, 260_000)],
        group_timer_ms: Some(250_000),
        queries: &[],
    },
    Row {
        name: "e3 EXCLUDE(X,Y)+IS_EX(A) -> EXCLUDE(A-Y,Y*A), (A-X-Y)=GMI, del(X-A),(Y-A), GT=GMI",
        init: Init::Exclude { x: X, y: Y },
        record: IsExclude,
        b: &[2, 3, 5],
        mode: FilterMode::Exclude,
        sources: &[(2, 250_000), (3, 0), (5, 260_000)],
        group_timer_ms: Some(260_000),
        queries: &[],
    },
    // §6.4.2 filter-mode-change and source-list-change records (E4).
    Row {
        name: "e4 INCLUDE(A)+ALLOW(B) -> INCLUDE(A+B), (B)=GMI",
        init: Init::Include(A),
        record: Allow,
        b: &[2, 3],
        mode: FilterMode::Include,
        sources: &[(1, 250_000), (2, 260_000), (3, 260_000)],
        group_timer_ms: None,
        queries: &[],
    },
    Row {
        name: "e4 INCLUDE(A)+BLOCK(B) -> INCLUDE(A), Send Q(G,A*B)",
        init: Init::Include(A),
        record: Block,
        b: &[2, 3],
        mode: FilterMode::Include,
        sources: &[(1, 250_000), (2, 2_000)],
        group_timer_ms: None,
        queries: &[(&[2], false)],
    },
    Row {
        name: "e4 INCLUDE(A)+TO_EX(B) -> EXCLUDE(A*B,B-A), (B-A)=0, del(A-B), Send Q(G,A*B), GT=GMI",
        init: Init::Include(A),
        record: ToExclude,
        b: &[2, 3],
        mode: FilterMode::Exclude,
        sources: &[(2, 2_000), (3, 0)],
        group_timer_ms: Some(260_000),
        queries: &[(&[2], false)],
    },
    Row {
        name: "e4 INCLUDE(A)+TO_IN(B) -> INCLUDE(A+B), (B)=GMI, Send Q(G,A-B)",
        init: Init::Include(A),
        record: ToInclude,
        b: &[2, 3],
        mode: FilterMode::Include,
        sources: &[(1, 2_000), (2, 260_000), (3, 260_000)],
        group_timer_ms: None,
        queries: &[(&[1], false)],
    },
    Row {
        name: "e4 EXCLUDE(X,Y)+ALLOW(A) -> EXCLUDE(X+A,Y-A), (A)=GMI",
        init: Init::Exclude { x: X, y: Y },
        record: Allow,
        b: &[2, 3, 5],
        mode: FilterMode::Exclude,
        sources: &[(1, 250_000), (2, 260_000), (3, 260_000), (4, 0), (5, 260_000)],
        group_timer_ms: Some(250_000),
        queries: &[],
    },
    Row {
        name: "e4 EXCLUDE(X,Y)+BLOCK(A) -> EXCLUDE(X+(A-Y),Y), (A-X-Y)=GT, Send Q(G,A-Y)",
        init: Init::Exclude { x: X, y: Y },
        record: Block,
        b: &[2, 3, 5],
        mode: FilterMode::Exclude,
        sources: &[(1, 250_000), (2, 2_000), (3, 0), (4, 0), (5, 2_000)],
        group_timer_ms: Some(250_000),
        queries: &[(&[2, 5], false)],
    },
    Row {
        name: "e4 EXCLUDE(X,Y)+TO_EX(A) -> EXCLUDE(A-Y,Y*A), (A-X-Y)=GT, del(X-A),(Y-A), Send Q(G,A-Y), GT=GMI",
        init: Init::Exclude { x: X, y: Y },
        record: ToExclude,
        b: &[2, 3, 5],
        mode: FilterMode::Exclude,
        sources: &[(2, 2_000), (3, 0), (5, 2_000)],
        group_timer_ms: Some(260_000),
        queries: &[(&[2, 5], false)],
    },
    Row {
        name: "e4 EXCLUDE(X,Y)+TO_IN(A) -> EXCLUDE(X+A,Y-A), (A)=GMI, Send Q(G,X-A), Send Q(G)",
        init: Init::Exclude { x: X, y: Y },
        record: ToInclude,
        b: &[2, 3, 5],
        mode: FilterMode::Exclude,
        sources: &[(1, 2_000), (2, 260_000), (3, 260_000), (4, 0), (5, 260_000)],
        group_timer_ms: Some(2_000),
        queries: &[(&[1], false), (&[], false)],
    },
];

fn run_row(fam: Fam, row: &Row) {
    let ctx = format!("{fam:?}: {}", row.name);
    let g = fam.group();
    let mut h = H::new(SnoopConfig::default());
    match row.init {
        Init::Include(a) => h.v3(P1, fam, IsInclude, g, &fam.srcs(a)),
        Init::Exclude { x, y } => {
            h.v3(P1, fam, IsExclude, g, &fam.srcs(y));
            h.v3(P1, fam, Allow, g, &fam.srcs(x));
        }
    }
    h.secs(10);
    h.take_sent();
    h.v3(P1, fam, row.record, g, &fam.srcs(row.b));

    let st = h
        .port_state(g, P1)
        .unwrap_or_else(|| panic!("{ctx}: no state"));
    assert_eq!(st.filter_mode, row.mode, "{ctx}: mode");
    assert_eq!(st.group_timer_ms, row.group_timer_ms, "{ctx}: group timer");
    let got: Vec<(IpAddr, u64)> = st.sources.iter().map(|s| (s.source, s.timer_ms)).collect();
    let want: Vec<(IpAddr, u64)> = row
        .sources
        .iter()
        .map(|(i, ms)| (fam.src(*i), *ms))
        .collect();
    assert_eq!(got, want, "{ctx}: sources");

    let got: Vec<(Vec<IpAddr>, bool)> = h
        .take_sent()
        .into_iter()
        .map(|s| {
            assert_eq!(
                s.target,
                QueryTarget::Port(P1),
                "{ctx}: specific queries go to the port"
            );
            assert_eq!(s.q.group, Some(g), "{ctx}");
            assert_eq!(s.q.version, fam.v3(), "{ctx}");
            assert_eq!(
                s.q.max_response,
                Duration::from_secs(1),
                "{ctx}: MaxResp = LMQI"
            );
            assert_eq!(s.q.source, fam.own(), "{ctx}");
            (s.q.sources, s.q.suppress_router_side)
        })
        .collect();
    let want: Vec<(Vec<IpAddr>, bool)> =
        row.queries.iter().map(|(s, f)| (fam.srcs(s), *f)).collect();
    assert_eq!(got, want, "{ctx}: queries");
}

#[test]
fn e3_current_state_records_rfc3376_6_4_1_igmpv3_and_mldv2() {
    for fam in FAMS {
        for row in ROWS.iter().filter(|r| r.name.starts_with("e3")) {
            run_row(fam, row);
        }
    }
}

#[test]
fn e4_change_records_rfc3376_6_4_2_igmpv3_and_mldv2() {
    for fam in FAMS {
        for row in ROWS.iter().filter(|r| r.name.starts_with("e4")) {
            run_row(fam, row);
        }
    }
}

#[test]
fn e4_include_block_sends_group_and_source_query_and_source_goes_after_lmqt() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::new(SnoopConfig::default());
        h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1, 2]));
        h.secs(10);
        h.take_sent();
        h.v3(P1, fam, Block, g, &fam.srcs(&[2]));
        h.secs(20);
        let sent: Vec<(Instant, Vec<IpAddr>)> = h
            .take_sent()
            .into_iter()
            .map(|s| (s.at, s.q.sources))
            .collect();
        assert_eq!(
            sent,
            vec![
                (Instant::from_secs(10), fam.srcs(&[2])),
                (Instant::from_secs(11), fam.srcs(&[2])),
            ],
            "{fam:?}: LMQC queries LMQI apart"
        );
        let st = h.port_state(g, P1).expect("state");
        assert_eq!(st.sources.len(), 1, "{fam:?}: S2 gone after LMQT");
        assert_eq!(st.sources[0].source, fam.src(1));
    }
}

#[test]
fn e5_group_timer_expiry_in_exclude_keeps_running_sources_in_include() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::new(SnoopConfig::default());
        h.v3(P1, fam, IsExclude, g, &fam.srcs(&[3])); // GT ends at 260
        h.secs(100);
        h.v3(P1, fam, Allow, g, &fam.srcs(&[1])); // S1 ends at 360
        h.secs(261);
        let st = h.port_state(g, P1).expect("state");
        assert_eq!(st.filter_mode, FilterMode::Include, "{fam:?}");
        assert_eq!(st.group_timer_ms, None);
        let srcs: Vec<(IpAddr, u64)> = st.sources.iter().map(|s| (s.source, s.timer_ms)).collect();
        assert_eq!(
            srcs,
            vec![(fam.src(1), 99_000)],
            "{fam:?}: blocked S3 deleted, S1 kept"
        );
        // Now S1 is forwarded, S3 (formerly blocked) and others are not.
        assert_eq!(h.ports_for(g, fam.src(1), P2), vec![P1]);
        assert_eq!(h.ports_for(g, fam.src(7), P2), Vec::<PortId>::new());
        // Last source expires: group gone.
        h.secs(360);
        assert!(h.group_state(g).is_none(), "{fam:?}");
    }
}

#[test]
fn e5_group_timer_expiry_without_running_sources_deletes_group() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::new(SnoopConfig::default());
        h.v3(P1, fam, IsExclude, g, &fam.srcs(&[3]));
        h.ms(259_999);
        assert!(h.group_state(g).is_some());
        h.secs(260);
        assert!(h.group_state(g).is_none(), "{fam:?}");
    }
}

#[test]
fn e5_source_expiry_in_exclude_blocks_the_source() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.v3(P1, fam, Allow, g, &fam.srcs(&[1])); // S1 ends at 270
        h.secs(50);
        h.v3(P1, fam, IsExclude, g, &fam.srcs(&[1])); // EXCLUDE({S1},{}), GT ends at 310
        assert_eq!(h.ports_for(g, fam.src(1), P2), vec![P1]);
        h.secs(271);
        let st = h.port_state(g, P1).expect("state");
        assert_eq!(st.filter_mode, FilterMode::Exclude);
        assert_eq!(st.sources[0].timer_ms, 0, "{fam:?}: S1 moved to Y");
        assert_eq!(h.ports_for(g, fam.src(1), P2), Vec::<PortId>::new());
        assert_eq!(h.ports_for(g, fam.src(2), P2), vec![P1]);
    }
}

#[test]
fn e5_source_expiry_in_include_deletes_source_then_group() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::new(SnoopConfig::default());
        h.v3(P1, fam, IsInclude, g, &fam.srcs(&[1]));
        h.secs(100);
        h.v3(P1, fam, IsInclude, g, &fam.srcs(&[2]));
        h.secs(261);
        let st = h.port_state(g, P1).expect("state");
        assert_eq!(st.sources.len(), 1);
        assert_eq!(st.sources[0].source, fam.src(2));
        h.secs(360);
        assert!(h.group_state(g).is_none(), "{fam:?}");
    }
}

#[test]
fn e6_to_in_empty_from_exclude_is_a_leave_gone_after_lmqt() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::ready(10);
        h.v3(P1, fam, ToExclude, g, &[]);
        h.secs(20);
        h.take_sent();
        h.v3(P1, fam, ToInclude, g, &[]);
        h.ms(21_999);
        assert!(h.group_state(g).is_some());
        h.secs(22);
        assert!(h.group_state(g).is_none(), "{fam:?}");
        let sent = h.take_sent();
        assert_eq!(sent.len(), 2, "{fam:?}: LMQC group-specific queries");
        assert!(sent
            .iter()
            .all(|s| s.q.group == Some(g) && s.q.sources.is_empty()));
    }
}

#[test]
fn e6_to_in_or_is_in_empty_on_include_or_absent_state_creates_nothing() {
    for fam in FAMS {
        let g = fam.group();
        let mut h = H::new(SnoopConfig::default());
        for kind in [IsInclude, ToInclude, Allow, Block] {
            h.v3(P1, fam, kind, g, &[]);
        }
        h.v3(P1, fam, Block, g, &fam.srcs(&[1]));
        assert!(h.group_state(g).is_none(), "{fam:?}");
        assert!(h.take_sent().iter().all(|s| s.q.group.is_none()));
    }
}
