//! The checkpoint rules: in order, idempotent, gaps refused.

use credence_events::{GlobalPosition, StreamVersion};
use credence_projections::{
    Applied, AsOfIndex, Projection, ProjectionConfig, ProjectionError, Projections,
};

use crate::fixtures::*;

fn log() -> Log {
    let mut log = Log::new();
    log.at(at(2026, 11, 2))
        .run(register(
            "A",
            "olena",
            terms("1000", credence_events::Deferral::calendar(7), "0"),
        ))
        .run(place("A", "O-1", &[("pump", 1, "10.00")], at(2026, 11, 2)))
        .run(deliver("A", "D-1", "O-1", &[("pump", 1)]));
    log
}

#[test]
fn events_at_or_before_the_checkpoint_are_ignored() {
    let log = log();
    let mut read = Projections::new(ProjectionConfig::default());
    assert_eq!(read.apply(&log.events[0]), Ok(Applied::Applied));
    assert_eq!(read.apply(&log.events[0]), Ok(Applied::AlreadyApplied));
    assert_eq!(read.catch_up(&log.events), Ok(2));
    assert_eq!(read.checkpoint(), GlobalPosition(3));
}

#[test]
fn a_gap_is_refused_and_changes_nothing() {
    let log = log();
    let mut read = Projections::new(ProjectionConfig::default());
    read.apply(&log.events[0]).unwrap();
    let before = read.clone();
    assert_eq!(
        read.apply(&log.events[2]),
        Err(ProjectionError::PositionGap {
            checkpoint: GlobalPosition(1),
            got: GlobalPosition(3)
        })
    );
    assert_eq!(read, before);

    let mut index = AsOfIndex::new(1);
    index.apply(&log.events[0]).unwrap();
    assert!(matches!(
        index.apply(&log.events[2]),
        Err(ProjectionError::PositionGap { .. })
    ));
}

#[test]
fn a_stream_version_gap_is_refused() {
    let log = log();
    let mut skipped = log.events[1].clone();
    skipped.position = GlobalPosition(2);
    skipped.version = StreamVersion(3);
    let mut read = Projections::new(ProjectionConfig::default());
    read.apply(&log.events[0]).unwrap();
    assert_eq!(
        read.apply(&skipped),
        Err(ProjectionError::StreamVersionGap {
            stream: log.events[0].stream.clone(),
            at: StreamVersion(1),
            got: StreamVersion(3)
        })
    );
    assert_eq!(read.checkpoint(), GlobalPosition(1));
}

#[test]
fn recorded_time_may_not_go_backwards_in_a_stream() {
    let log = log();
    let mut earlier = log.events[1].clone();
    earlier.recorded_at = at(2026, 11, 1);
    let mut index = AsOfIndex::new(4);
    index.apply(&log.events[0]).unwrap();
    assert!(matches!(
        index.apply(&earlier),
        Err(ProjectionError::RecordedTimeWentBackwards { .. })
    ));
}

#[test]
fn a_persisted_checkpoint_resumes_where_it_stopped() {
    let log = log();
    let mut read = Projections::new(ProjectionConfig::default());
    read.catch_up(&log.events[..2]).unwrap();
    let saved = serde_json::to_string(&read).unwrap();
    let mut resumed: Projections = serde_json::from_str(&saved).unwrap();
    assert_eq!(resumed.checkpoint(), GlobalPosition(2));
    resumed.catch_up(&log.events).unwrap();
    assert_eq!(
        resumed,
        Projections::rebuild(ProjectionConfig::default(), &log.events).unwrap()
    );
}

#[test]
fn an_as_of_query_reports_a_missing_event_source() {
    let log = log();
    let index = AsOfIndex::rebuild(1000, &log.events).unwrap();
    let empty = std::collections::BTreeMap::new();
    let as_of = credence_projections::AsOf::known_at(at(2026, 11, 1));
    // Nothing known then: nothing to read.
    assert!(
        index
            .state(&customer("A"), as_of, &empty)
            .unwrap()
            .unwrap()
            .version()
            .0
            == 0
    );
    let as_of = credence_projections::AsOf::business(at(2026, 11, 2));
    // Every event is known now: the current state, nothing to read.
    assert_eq!(
        index
            .state(&customer("A"), as_of, &empty)
            .unwrap()
            .unwrap()
            .version()
            .0,
        3
    );
    let mut earlier = log.clone();
    earlier
        .at(at(2026, 11, 3))
        .run(place("A", "O-2", &[("pump", 1, "10.00")], at(2026, 11, 3)));
    let index = AsOfIndex::rebuild(1000, &earlier.events).unwrap();
    assert_eq!(
        index.state(&customer("A"), as_of, &empty),
        Err(ProjectionError::EventSource(
            "stream A has no versions 1..=3".into()
        ))
    );
    assert_eq!(index.state(&customer("B"), as_of, &empty), Ok(None));
}
