//! Compile-time checks of the DSL: every rule is a compile error with a precise
//! span (tests/ui/fail), and valid specs compile and build (tests/ui/pass).

#[test]
fn ui() {
    let t = trybuild::TestCases::new();
    t.compile_fail("tests/ui/fail/*.rs");
    t.pass("tests/ui/pass/*.rs");
}
