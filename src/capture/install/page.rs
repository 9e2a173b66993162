/*!
The answer to the install form of an app with a UI: a page, opened in a frame of the portal,
that finishes the installation the way CRest's `install.php` does — it loads Bitrix24's `BX24`
library and calls `BX24.installFinish()` (the app counts as installed only then) — and says
what b24auth kept. It carries no token: only the portal's name and where the pair went.
*/

/// Where the page loads `BX24` from: the library CRest and the docs name.
pub const BX24_LIBRARY: &str = "//api.bitrix24.com/api/v1/";

/// The finishing page; `what` says what was kept (plain text, escaped here).
pub fn finish(library: &str, what: &str) -> String {
    format!(
        r#"<!doctype html>
<html><head><meta charset="utf-8"><title>b24auth: installation</title>
<script src="{library}"></script></head>
<body><p>{what}</p>
<p id="finish">Finishing the installation…</p>
<script>
(function () {{
  var said = document.getElementById('finish');
  if (typeof BX24 === 'undefined') {{
    said.textContent = 'The BX24 library did not load: open the app once from the portal to finish the installation.';
    return;
  }}
  BX24.init(function () {{
    BX24.installFinish();
    said.textContent = 'Installation finished. You may close this page.';
  }});
}})();
</script></body></html>
"#,
        library = escape(library),
        what = escape(what),
    )
}

fn escape(s: &str) -> String {
    s.chars()
        .map(|c| match c {
            '&' => "&amp;".into(),
            '<' => "&lt;".into(),
            '>' => "&gt;".into(),
            '"' => "&quot;".into(),
            '\'' => "&#39;".into(),
            c if c.is_control() => " ".into(),
            c => c.to_string(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_page_finishes_and_escapes_what_it_says() {
        let page = finish(BX24_LIBRARY, "portal <script>x</script>");
        assert!(page.contains(r#"<script src="//api.bitrix24.com/api/v1/">"#));
        assert!(page.contains("BX24.installFinish()"));
        assert!(page.contains("&lt;script&gt;"));
        assert!(!page.contains("<script>x"));
    }
}
