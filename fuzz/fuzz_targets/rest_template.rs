//! The REST transcoder's path templates (`google.api.http` rules): arbitrary text parsed as a
//! template and an arbitrary path matched against it. The input is the template, a newline, and
//! the path. A template that parses prints back as written and collides with itself; a path that
//! matches captures one value per variable. A panic is a crash.

#![no_main]

use libfuzzer_sys::fuzz_target;
use rti_gateway::edge::rest_fuzzing::match_template;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let (template, path) = text.split_once('\n').unwrap_or((text, ""));
    if let Ok(matched) = match_template(template, path) {
        assert_eq!(matched.text, template, "a template prints back as written");
        assert!(
            matched.collides_with_itself,
            "{template:?} does not collide with itself"
        );
        if let Some(captures) = matched.captures {
            assert_eq!(
                captures.len(),
                matched.variables,
                "{template:?} matched {path:?}: {captures:?}"
            );
        }
    }
});
