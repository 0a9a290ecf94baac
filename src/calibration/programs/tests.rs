use super::*;

#[test]
fn directions_are_classified_by_the_speedup_against_the_band() {
    // (one copy s, k copies s, k, speed-up, direction)
    let table: &[(f64, f64, u32, f64, Direction)] = &[
        (1.0, 1.0, 2, 2.0, Direction::Faster), // two at once, full speed
        (1.0, 2.0, 2, 1.0, Direction::Same),   // one after another
        (1.0, 4.4, 4, 0.909, Direction::Same), // just inside the band
        (1.0, 3.6, 4, 1.111, Direction::Faster), // just outside
        (1.0, 4.5, 4, 0.889, Direction::Slower), // just outside, below
        (1.0, 2.5, 2, 0.8, Direction::Slower), // a convoy: slower than alone
        (0.5, 1.1, 2, 0.909, Direction::Same),
        (2.0, 2.2, 2, 1.818, Direction::Faster),
    ];
    for &(one, many, k, want_speedup, want) in table {
        let s = speedup(one, many, k);
        assert!(
            (s - want_speedup).abs() < 1e-3,
            "speedup({one}, {many}, {k}) = {s}, want {want_speedup}"
        );
        assert_eq!(direction(s), want, "speed-up {s}");
    }
    // On the band's edges: the same.
    assert_eq!(direction(1.0 + SAME_BAND), Direction::Same);
    assert_eq!(direction(1.0 - SAME_BAND), Direction::Same);
}

#[test]
fn the_median_error_is_the_median_of_absolute_errors() {
    let table: &[(&[f64], f64)] = &[
        (&[], 0.0),
        (&[0.1], 0.1),
        (&[-0.3], 0.3),
        (&[0.1, -0.2, 0.05], 0.1),
        (&[0.1, -0.2, 0.05, 0.4], 0.15),
        (&[-0.5, -0.5, 0.0, 1.0, 0.2], 0.5),
    ];
    for &(errors, want) in table {
        let got = median_abs_error(errors);
        assert!((got - want).abs() < 1e-12, "{errors:?}: {got}, want {want}");
    }
    assert!((relative_error(1.2, 1.0) - 0.2).abs() < 1e-12);
    assert!((relative_error(0.5, 1.0) + 0.5).abs() < 1e-12);
}

fn row(program: &str, layout: Layout, k: u32, median: f64) -> ProgramRow {
    ProgramRow {
        program: program.into(),
        character: "pure Python".into(),
        k,
        layout,
        median,
        p10: median,
        p90: median,
        quiet: true,
    }
}

#[test]
fn directions_compare_each_row_with_one_copy_of_its_own_layout() {
    let cmp = vec![
        Compared {
            row: row("a", Layout::Threads, 1, 1.0),
            predicted: 1.0,
        },
        Compared {
            row: row("a", Layout::Threads, 2, 2.0),
            predicted: 1.0,
        },
        Compared {
            row: row("a", Layout::Processes, 1, 1.2),
            predicted: 1.1,
        },
        Compared {
            row: row("a", Layout::Processes, 2, 1.2),
            predicted: 1.1,
        },
        // No k = 1 row of its layout: skipped.
        Compared {
            row: row("b", Layout::Threads, 4, 1.0),
            predicted: 1.0,
        },
    ];
    let d = directions(&cmp);
    assert_eq!(d.len(), 2);
    assert_eq!(
        (d[0].measured(), d[0].predicted(), d[0].ok()),
        (Direction::Same, Direction::Faster, false)
    );
    assert_eq!(
        (d[1].measured(), d[1].predicted(), d[1].ok()),
        (Direction::Faster, Direction::Faster, true)
    );
}

#[test]
fn bad_measured_files_are_refused_with_the_key() {
    let good = r#"{"schema": "gilsim-programs/1", "rows": [{"program": "nbody", "character": "pure Python",
        "layout": "threads", "k": 1, "wall_s": {"median": 1.0, "p10": 0.9, "p90": 1.1}, "quiet": true}]}"#;
    let m = parse_measured(good, "m.json").unwrap();
    assert_eq!(
        m.rows,
        vec![ProgramRow {
            p10: 0.9,
            p90: 1.1,
            ..row("nbody", Layout::Threads, 1, 1.0)
        }]
    );
    let table: &[(&str, &str, &str)] = &[
        ("\"gilsim-programs/1\"", "\"gilsim-measured/1\"", "schema"),
        ("\"threads\"", "\"fibers\"", "rows[0].layout"),
        ("\"k\": 1", "\"k\": 0", "rows[0].k"),
        (
            "\"median\": 1.0",
            "\"median\": -1.0",
            "rows[0].wall_s.median",
        ),
        ("\"program\": \"nbody\", ", "", "rows[0].program"),
    ];
    for &(from, to, key) in table {
        let bad = good.replacen(from, to, 1);
        match parse_measured(&bad, "m.json") {
            Err(ProgramsError::Value { key: k, .. }) => assert_eq!(k, key, "{bad}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    assert!(matches!(
        parse_measured("{", "m.json"),
        Err(ProgramsError::Json { .. })
    ));
}

#[test]
fn the_reconciliation_sentence_says_what_the_untraced_runs_left() {
    let facts = |r: Option<Reconciled>| TraceFacts {
        program: "p".into(),
        totals_s: [0.5, 0.2, 0.2, 0.1],
        imports_s: 0.1,
        traced_wall_s: 2.0,
        events: 10,
        python_time_scale: 1.0,
        releasing_calls: 3,
        reconciliation: r,
    };
    let rec = |applied, samples: &[f64]| {
        Some(Reconciled {
            untraced_s: samples[samples.len() / 2],
            samples_s: samples.to_vec(),
            python_factor: Some(0.5),
            applied,
        })
    };
    // (reconciliation, one copy timed in a thread, words the sentence must hold)
    let table: Vec<(Option<Reconciled>, Option<f64>, &[&str])> = vec![
        (None, Some(1.0), &[]),
        (
            rec(true, &[0.9, 1.1, 1.2]),
            Some(1.0),
            &[
                "median 1.100 s, 3 runs 0.900–1.200 s",
                "+10.0% off",
                "(1.000 s",
            ],
        ),
        (
            rec(true, &[1.0]),
            Some(1.25),
            &["median 1.000 s)", "-20.0% off"],
        ),
        (rec(true, &[1.0]), None, &[]),
        (
            rec(false, &[0.3]),
            Some(1.0),
            &["Not reconciled", "alone, 0.500 s", "median 0.300 s)"],
        ),
    ];
    for (r, one, want) in table {
        let got = reconciliation_sentence(&facts(r.clone()), one);
        if want.is_empty() {
            assert_eq!(got, "", "{r:?}");
        }
        for w in want {
            assert!(got.contains(w), "{w:?} not in {got:?}");
        }
    }
}

#[test]
fn the_signed_median_keeps_the_sign() {
    let table: &[(&[f64], f64)] = &[
        (&[], 0.0),
        (&[-0.2], -0.2),
        (&[0.1, -0.3, 0.2], 0.1),
        (&[0.1, -0.3, 0.2, 0.4], 0.15),
    ];
    for &(xs, want) in table {
        assert!((signed_median(xs) - want).abs() < 1e-12, "{xs:?}");
    }
}
