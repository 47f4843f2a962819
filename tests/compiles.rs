//! Programs that must compile and run as written (`ui-tests/pass/`): the spellings and
//! attributes that stand beside the UI tests' fail cases. They are ordinary tests, built with
//! the other test binaries, so that nothing is compiled twice for them.

mod awkward_names {
    include!("../ui-tests/pass/awkward-names.rs");

    #[test]
    fn runs() {
        main();
    }
}

mod every_attribute {
    include!("../ui-tests/pass/every-attribute.rs");

    #[test]
    fn runs() {
        main();
    }
}

mod same_name_in_two_modules {
    include!("../ui-tests/pass/same-name-in-two-modules.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod same_name_association_in_two_modules {
    include!("../ui-tests/pass/same-name-association-in-two-modules.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod same_name_in_a_function {
    include!("../ui-tests/pass/same-name-in-a-function.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod session_spellings {
    include!("../ui-tests/pass/session-spellings.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod std_names {
    include!("../ui-tests/pass/std-names.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod parents_from_spellings {
    include!("../ui-tests/pass/parents-from-spellings.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod parents_from_two_association_spellings {
    include!("../ui-tests/pass/parents-from-two-association-spellings.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

// The derive's cycle-check answers need no `allow` that a `forbid` would refuse.
#[forbid(non_upper_case_globals)]
mod association_names_in_one_module {
    include!("../ui-tests/pass/association-names-in-one-module.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod association_through_macro_rules {
    include!("../ui-tests/pass/association-through-macro-rules.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}

mod model_named_s {
    include!("../ui-tests/pass/model-named-s.rs");

    #[test]
    fn runs() {
        main().unwrap();
    }
}
