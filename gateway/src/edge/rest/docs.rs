//! The human-readable API page at `/docs`: the OpenAPI document rendered on the server as one
//! plain HTML page, operations grouped by service with their descriptions, parameters, bodies
//! and answers, then every schema. No script and no CDN, so it works offline and in any browser
//! or screen reader: landmarks, one heading outline, tables with captions and header cells.

use std::fmt::Write;

use serde_json::Value as Json;

const METHODS: [&str; 5] = ["get", "post", "put", "patch", "delete"];

/// The page for `document`.
pub(crate) fn page(document: &Json) -> String {
    let mut html = String::with_capacity(256 * 1024);
    let title = text(&document["info"]["title"]);
    let _ = write!(
        html,
        "<!doctype html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <title>{title} REST API</title>\n<style>{STYLE}</style>\n</head>\n<body>\n\
         <header><h1>{title} REST API</h1><p>{}</p>\
         <p>The machine-readable document is at <a href=\"/openapi.json\"><code>/openapi.json</code></a>.</p></header>\n",
        escape(&text(&document["info"]["description"]))
    );
    let tags: Vec<String> = document["tags"]
        .as_array()
        .map(|tags| tags.iter().map(|tag| text(&tag["name"])).collect())
        .unwrap_or_default();
    html.push_str("<nav aria-label=\"Services\"><h2>Services</h2><ul>");
    for tag in &tags {
        let _ = write!(html, "<li><a href=\"#{0}\">{0}</a></li>", escape(tag));
    }
    html.push_str("<li><a href=\"#schemas\">Schemas</a></li></ul></nav>\n<main>\n");
    for tag in document["tags"].as_array().into_iter().flatten() {
        let name = text(&tag["name"]);
        let _ = write!(
            html,
            "<section aria-labelledby=\"{0}\"><h2 id=\"{0}\">{0}</h2>{1}",
            escape(&name),
            paragraphs(&text(&tag["description"]))
        );
        for (path, item) in document["paths"].as_object().into_iter().flatten() {
            for method in METHODS {
                let operation = &item[method];
                let tagged = operation["tags"]
                    .as_array()
                    .is_some_and(|tags| tags.iter().any(|tag| tag.as_str() == Some(name.as_str())));
                if tagged {
                    render_operation(&mut html, method, path, operation);
                }
            }
        }
        html.push_str("</section>\n");
    }
    html.push_str("<section aria-labelledby=\"schemas\"><h2 id=\"schemas\">Schemas</h2>");
    for (name, schema) in document["components"]["schemas"].as_object().into_iter().flatten() {
        render_schema(&mut html, name, schema);
    }
    html.push_str("</section>\n</main>\n</body>\n</html>\n");
    html
}

fn render_operation(html: &mut String, method: &str, path: &str, operation: &Json) {
    let id = text(&operation["operationId"]);
    let public = operation["security"].as_array().is_some_and(|schemes| {
        schemes
            .iter()
            .any(|scheme| scheme.as_object().is_some_and(|scheme| scheme.is_empty()))
    });
    let _ = write!(
        html,
        "<article aria-labelledby=\"{id}\"><h3 id=\"{id}\"><span class=\"method\">{}</span> <code>{}</code></h3>\
         <p class=\"rpc\">{} · {}</p>{}",
        method.to_ascii_uppercase(),
        escape(path),
        escape(&text(&operation["summary"])),
        who_may_call(public, &operation[super::openapi::ROLES]),
        paragraphs(&text(&operation["description"])),
        id = escape(&id),
    );
    if let Some(parameters) = operation["parameters"].as_array() {
        let _ = write!(
            html,
            "<table><caption>Parameters of {}</caption><thead><tr><th scope=\"col\">Name</th>\
             <th scope=\"col\">In</th><th scope=\"col\">Type</th><th scope=\"col\">Description</th></tr></thead><tbody>",
            escape(&id)
        );
        for parameter in parameters {
            let _ = write!(
                html,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td><td>{}</td></tr>",
                escape(&text(&parameter["name"])),
                escape(&text(&parameter["in"])),
                type_of(&parameter["schema"]),
                escape(&text(&parameter["description"]).replace('\n', " ")),
            );
        }
        html.push_str("</tbody></table>");
    }
    for (label, content) in [
        ("Body", &operation["requestBody"]["content"]),
        ("Answer", &operation["responses"]["200"]["content"]),
    ] {
        if let Some((media_type, content)) = content.as_object().and_then(|content| content.iter().next()) {
            let _ = write!(
                html,
                "<p>{label} (<code>{}</code>): {}</p>",
                escape(media_type),
                type_of(&content["schema"])
            );
        }
    }
    html.push_str("</article>\n");
}

/// "public: no token needed", or the roles whose bearer tokens the operation takes.
fn who_may_call(public: bool, roles: &Json) -> String {
    if public {
        return "public: no token needed".to_owned();
    }
    match roles.as_array() {
        Some(roles) if !roles.is_empty() => {
            let names: Vec<String> = roles.iter().map(|role| escape(&text(role))).collect();
            format!("needs a bearer token with the role {}", names.join(" or "))
        }
        _ => "needs a bearer token".to_owned(),
    }
}

fn render_schema(html: &mut String, name: &str, schema: &Json) {
    let _ = write!(
        html,
        "<article aria-labelledby=\"schema-{0}\"><h3 id=\"schema-{0}\"><code>{0}</code></h3>{1}",
        escape(name),
        paragraphs(&text(&schema["description"]))
    );
    if let Some(values) = schema["enum"].as_array() {
        let names: Vec<String> = values
            .iter()
            .map(|value| format!("<code>{}</code>", escape(&text(value))))
            .collect();
        let _ = write!(html, "<p>One of: {}</p>", names.join(", "));
    }
    if let Some(properties) = schema["properties"].as_object() {
        let _ = write!(
            html,
            "<table><caption>Fields of {}</caption><thead><tr><th scope=\"col\">Field</th>\
             <th scope=\"col\">Type</th><th scope=\"col\">Description</th></tr></thead><tbody>",
            escape(name)
        );
        for (field, property) in properties {
            let _ = write!(
                html,
                "<tr><th scope=\"row\"><code>{}</code></th><td>{}</td><td>{}</td></tr>",
                escape(field),
                type_of(property),
                escape(&text(&property["description"])).replace('\n', "<br>"),
            );
        }
        html.push_str("</tbody></table>");
    }
    html.push_str("</article>\n");
}

/// A schema's type in words, with a link to a referred schema.
fn type_of(schema: &Json) -> String {
    if let Some(target) = schema["$ref"].as_str() {
        let name = target.rsplit('/').next().unwrap_or(target);
        return format!("<a href=\"#schema-{0}\">{0}</a>", escape(name));
    }
    if let Some(first) = schema["allOf"].as_array().and_then(|all| all.first()) {
        return type_of(first);
    }
    match schema["type"].as_str() {
        Some("array") => format!("list of {}", type_of(&schema["items"])),
        Some("object") if schema["additionalProperties"].is_object() => {
            format!("map of string to {}", type_of(&schema["additionalProperties"]))
        }
        Some(kind) => match schema["format"].as_str() {
            Some(format) => format!("{} ({})", escape(kind), escape(format)),
            None => escape(kind),
        },
        None => "any JSON value".to_owned(),
    }
}

fn paragraphs(text: &str) -> String {
    text.split("\n\n")
        .filter(|paragraph| !paragraph.trim().is_empty())
        .map(|paragraph| format!("<p>{}</p>", escape(paragraph).replace('\n', " ")))
        .collect()
}

fn text(value: &Json) -> String {
    value.as_str().unwrap_or_default().to_owned()
}

fn escape(text: &str) -> String {
    let mut escaped = String::with_capacity(text.len());
    for character in text.chars() {
        match character {
            '&' => escaped.push_str("&amp;"),
            '<' => escaped.push_str("&lt;"),
            '>' => escaped.push_str("&gt;"),
            '"' => escaped.push_str("&quot;"),
            '\'' => escaped.push_str("&#39;"),
            other => escaped.push(other),
        }
    }
    escaped
}

const STYLE: &str = "body{font:16px/1.5 system-ui,sans-serif;max-width:60rem;margin:0 auto;padding:1rem;color:#1a1a1a}\
code{font-family:ui-monospace,monospace;background:#f2f2f2;padding:0 .2em}\
article{border-top:1px solid #ccc;padding:.5rem 0}\
.method{font-weight:700;color:#0b4f8a}\
.rpc{color:#444}\
table{border-collapse:collapse;width:100%;margin:.5rem 0}\
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:left;vertical-align:top}\
caption{text-align:left;font-weight:600}\
a{color:#0b4f8a}";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_what_the_protos_say() {
        assert_eq!(escape("a < b & \"c\""), "a &lt; b &amp; &quot;c&quot;");
        assert_eq!(paragraphs("one\nline\n\ntwo"), "<p>one line</p><p>two</p>");
    }
}
