//! The report looked at in a real browser: headless Chromium renders the
//! report's `index.html` (the one the claim tests read) and a small script
//! checks that every figure loads, has a caption and alt text, and appears in
//! the order the text names it. Chromium comes from `tools/install-chromium`
//! (`.ci/run` calls it); where it is not installed the test says so and passes.

use std::path::{Path, PathBuf};
use std::process::Command;

/// The page that loads the report in a frame and writes what it finds.
const CHECK_PAGE: &str = r#"<!DOCTYPE html><html><body>
<iframe id="f" src="index.html" style="width:1100px;height:900px"></iframe>
<pre id="out">pending</pre>
<script>
const f = document.getElementById('f');
f.onload = async () => {
  try {
    const d = f.contentDocument;
    const imgs = [...d.querySelectorAll('img')];
    await Promise.all(imgs.map(i => i.complete ? 0 : new Promise(r => { i.onload = i.onerror = r; })));
    const y = e => e.getBoundingClientRect().top;
    const sections = [...d.querySelectorAll('section.experiment')].map(s => {
      const figures = [...s.querySelectorAll('figure')].sort((a, b) => y(a) - y(b)).map(fg => {
        const img = fg.querySelector('img');
        const cap = fg.querySelector('figcaption');
        return { id: fg.id, width: img ? img.naturalWidth : 0, alt: img ? img.alt : '',
                 caption: cap ? cap.textContent : '', label: cap && cap.querySelector('b') ? cap.querySelector('b').textContent : '' };
      });
      const refs = [];
      for (const a of s.querySelectorAll('a.figref')) {
        const id = a.getAttribute('href').slice(1);
        if (!a.closest('figure') && !refs.includes(id)) refs.push(id);
      }
      return { id: s.id, figures, refs, images: s.querySelectorAll('img').length };
    });
    const loose = [...d.querySelectorAll('figure')].filter(fg => !fg.closest('section.experiment')).map(fg => {
      const img = fg.querySelector('img');
      const cap = fg.querySelector('figcaption');
      return { id: fg.id, width: img ? img.naturalWidth : 0, alt: img ? img.alt : '',
               caption: cap ? cap.textContent : '', label: cap && cap.querySelector('b') ? cap.querySelector('b').textContent : '' };
    });
    document.getElementById('out').textContent = 'RESULT' + JSON.stringify({ sections, loose, images: imgs.length });
  } catch (e) {
    document.getElementById('out').textContent = 'ERROR ' + e;
  }
};
</script></body></html>"#;

fn chromium() -> Option<PathBuf> {
    let candidates = [
        std::env::var("GILSIM_CHROMIUM").unwrap_or_default(),
        "chromium".into(),
        "chromium-browser".into(),
        "google-chrome".into(),
        "google-chrome-stable".into(),
    ];
    let path = std::env::var_os("PATH")?;
    for c in candidates.iter().filter(|c| !c.is_empty()) {
        let p = Path::new(c);
        if p.is_absolute() && p.is_file() {
            return Some(p.to_path_buf());
        }
        for dir in std::env::split_paths(&path) {
            let full = dir.join(c);
            if full.is_file() {
                return Some(full);
            }
        }
    }
    None
}

/// Renders `page` headless and returns the DOM after its scripts ran.
fn dump_dom(browser: &Path, page: &Path) -> String {
    let profile = tempfile::tempdir().unwrap();
    let out = Command::new(browser)
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=20000",
        ])
        .arg(format!("--user-data-dir={}", profile.path().display()))
        .arg("--dump-dom")
        .arg(format!("file://{}", page.display()))
        .output()
        .expect("start chromium");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

fn unescape(s: &str) -> String {
    s.replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&nbsp;", "\u{a0}")
        .replace("&amp;", "&")
}

#[test]
fn every_figure_loads_in_a_browser_in_reading_order_with_a_caption() {
    let Some(browser) = chromium() else {
        eprintln!(
            "SKIPPED: no Chromium found (chromium, chromium-browser, google-chrome or $GILSIM_CHROMIUM); \
run tools/install-chromium to install Debian's chromium package"
        );
        return;
    };
    let dir = crate::claims::report();
    let page = dir.join("browser-check.html");
    std::fs::write(&page, CHECK_PAGE).unwrap();
    let dom = dump_dom(&browser, &page);
    let _ = std::fs::remove_file(&page);
    let start = dom
        .find("RESULT")
        .unwrap_or_else(|| panic!("the check did not finish; the page said:\n{dom}"));
    let end = start + dom[start..].find("</pre>").unwrap();
    let result: serde_json::Value = serde_json::from_str(&unescape(&dom[start + 6..end])).unwrap();
    let sections = result["sections"].as_array().unwrap();
    assert_eq!(
        sections.len(),
        gilsim::commands::report::SHIPPED.len(),
        "every experiment is on the page"
    );
    let mut total = 0;
    for s in sections {
        let id = s["id"].as_str().unwrap();
        let figures = s["figures"].as_array().unwrap();
        assert!(!figures.is_empty(), "{id}: no figure");
        assert_eq!(
            s["images"].as_u64().unwrap() as usize,
            figures.len(),
            "{id}: every image is a figure"
        );
        for (k, f) in figures.iter().enumerate() {
            total += 1;
            let fid = f["id"].as_str().unwrap();
            assert!(f["width"].as_u64().unwrap() > 0, "{fid} did not load");
            assert!(f["alt"].as_str().unwrap().len() > 20, "{fid}: no alt text");
            let label = f["label"].as_str().unwrap();
            assert!(
                label.starts_with("Figure ") && label.ends_with(&format!(".{}.", k + 1)),
                "{fid}: numbered {label:?} at place {}",
                k + 1
            );
            let caption = f["caption"].as_str().unwrap();
            assert!(
                caption.len() > label.len() + 20,
                "{fid}: no caption beyond its number: {caption:?}"
            );
        }
        let order: Vec<&str> = figures.iter().map(|f| f["id"].as_str().unwrap()).collect();
        let refs: Vec<&str> = s["refs"]
            .as_array()
            .unwrap()
            .iter()
            .map(|r| r.as_str().unwrap())
            .collect();
        assert_eq!(
            refs, order,
            "{id}: the text names the figures in this order, the page shows them in that one"
        );
    }
    // The validation summary's figure, before the experiments: it loads,
    // with alt text and a caption, numbered 0.
    let loose = result["loose"].as_array().unwrap();
    let ids: Vec<&str> = loose.iter().map(|f| f["id"].as_str().unwrap()).collect();
    assert_eq!(ids, ["fig-validation"]);
    for f in loose {
        assert!(
            f["width"].as_u64().unwrap() > 0,
            "the validation figure did not load"
        );
        assert!(
            f["alt"].as_str().unwrap().len() > 20,
            "the validation figure has no alt text"
        );
        assert_eq!(f["label"], "Figure 0.");
        assert!(f["caption"].as_str().unwrap().len() > 40);
    }
    assert_eq!(
        result["images"].as_u64().unwrap() as usize,
        total + loose.len()
    );
}
