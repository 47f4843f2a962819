//! Programs that must compile and run as written (`ui-tests/pass/`): the spellings and
//! attributes that stand beside the UI tests' fail cases. They are ordinary tests, built with
//! the other test binaries, so that nothing is compiled twice for them.

/// A module per program, with a test that runs its `main` (which returns `()` or a `Result`).
macro_rules! runs {
    ($(#[$attr:meta])* $name:ident => $file:literal) => {
        $(#[$attr])*
        mod $name {
            include!($file);

            #[test]
            fn runs() {
                crate::Ran::ran(main());
            }
        }
    };
}

/// What a program's `main` returned, as a test's outcome.
trait Ran {
    fn ran(self);
}

impl Ran for () {
    fn ran(self) {}
}

impl<E: std::fmt::Debug> Ran for Result<(), E> {
    fn ran(self) {
        self.unwrap();
    }
}

runs!(awkward_names => "../ui-tests/pass/awkward-names.rs");

runs!(every_attribute => "../ui-tests/pass/every-attribute.rs");

runs!(same_name_in_two_modules => "../ui-tests/pass/same-name-in-two-modules.rs");

runs!(same_name_association_in_two_modules => "../ui-tests/pass/same-name-association-in-two-modules.rs");

runs!(same_name_in_a_function => "../ui-tests/pass/same-name-in-a-function.rs");

runs!(session_spellings => "../ui-tests/pass/session-spellings.rs");

runs!(std_names => "../ui-tests/pass/std-names.rs");

runs!(parents_from_spellings => "../ui-tests/pass/parents-from-spellings.rs");

runs!(parents_from_two_association_spellings => "../ui-tests/pass/parents-from-two-association-spellings.rs");

// The derive's cycle-check answers need no `allow` that a `forbid` would refuse.
runs!(
    #[forbid(non_upper_case_globals)]
    association_names_in_one_module => "../ui-tests/pass/association-names-in-one-module.rs"
);

runs!(association_through_macro_rules => "../ui-tests/pass/association-through-macro-rules.rs");

runs!(model_named_s => "../ui-tests/pass/model-named-s.rs");
