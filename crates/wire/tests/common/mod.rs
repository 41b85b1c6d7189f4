//! Helpers the wire tests share.
use quick_xml::events::Event;

/// Every element as `path = text` in document order; empty elements as `path = `.
pub fn leaves(xml: &str) -> Vec<String> {
    let mut reader = quick_xml::Reader::from_str(xml);
    let (mut path, mut out, mut text) = (Vec::<String>::new(), Vec::new(), None::<String>);
    loop {
        match reader.read_event().unwrap() {
            Event::Start(e) => {
                path.push(String::from_utf8(e.name().as_ref().to_vec()).unwrap());
                text = Some(String::new());
            }
            Event::Empty(e) => {
                out.push(format!("{}/{} = ", path.join("/"), String::from_utf8_lossy(e.name().as_ref())));
                text = None;
            }
            Event::Text(t) => text = Some(t.unescape().unwrap().into_owned()),
            Event::End(_) => {
                if let Some(t) = text.take() {
                    out.push(format!("{} = {}", path.join("/"), t));
                }
                path.pop();
            }
            Event::Eof => break,
            _ => {}
        }
    }
    out
}
