//! The config loader: any text as `feeds.toml` is a config or a list of errors with lines and fields,
//! never a panic.

#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    match wiredesk::config::parse(std::path::Path::new("/etc/wiredesk/feeds.toml"), &text) {
        Ok(config) => {
            for source in &config.sources {
                let _ = config.schedule_for(source);
            }
        }
        Err(errors) => {
            assert!(!errors.errors.is_empty(), "an error without a problem");
            let _ = errors.to_string();
        }
    }
});
