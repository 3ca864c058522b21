//! The citizen's form and thank-you page.

use maud::{Markup, html};

use super::pages::privacy_notice;
use super::{Lang, layout};
use crate::domain::answer::COMMENT_MAX_CHARS;
use crate::domain::answer::Problem;
use crate::domain::org::Field;
use crate::domain::point::PointContext;
use crate::domain::questionnaire::{Draft, FormErrors, Question, Questionnaire};

/// Everything the form shows.
pub struct FormView<'a> {
    pub lang: Lang,
    /// Where the form is and posts to: `/s/SLUG` (a collection point's QR code) or `/r/TOKEN`
    /// (a receipt's).
    pub path: &'a str,
    pub point: &'a PointContext,
    /// The procedure a receipt names, shown with the unit and officer.
    pub procedure: Option<&'a str>,
    pub questionnaire: &'a Questionnaire,
    pub fields: &'a [Field],
    pub draft: &'a Draft,
    pub errors: Option<&'a FormErrors>,
    /// A message for the whole form that is not about an answer (busy, outdated form).
    pub notice: Option<(&'a str, &'a str)>,
    pub key: &'a str,
}

fn who(lang: Lang, point: &PointContext, procedure: Option<&str>) -> Markup {
    html! {
        div.who {
            p { (lang.pick("Đơn vị: ", "Unit: ")) strong { (point.unit_name) } }
            @if let Some(procedure) = procedure {
                p { (lang.pick("Thủ tục: ", "Procedure: ")) strong { (procedure) } }
            }
            @if let Some(desk) = &point.desk_name {
                p { (lang.pick("Quầy: ", "Desk: ")) strong { (desk) } }
            }
            @if let Some(officer) = &point.officer_name {
                p { (lang.pick("Cán bộ: ", "Officer: ")) strong { (officer) } }
            }
        }
    }
}

fn language_switch(lang: Lang, path: &str) -> Markup {
    let other = lang.other();
    html! {
        a href={ (path) "?lang=" (other.code()) } lang=(other.code()) hreflang=(other.code()) {
            (lang.pick("English", "Tiếng Việt"))
        }
    }
}

fn question_block(view: &FormView<'_>, q: &Question) -> Markup {
    let lang = view.lang;
    let name = format!("q_{}", q.id);
    let chosen = view.draft.values.get(&q.id).map(|v| v.trim()).unwrap_or("");
    let problem = view.errors.and_then(|e| e.questions.get(&q.id));
    let msg_id = format!("e_{}", q.id);
    html! {
        fieldset id={ "f_" (q.id) } class=[problem.map(|_| "err")] aria-describedby=[problem.map(|_| &msg_id)] {
            legend {
                (lang.pick(&q.vi, &q.en))
                @if q.required { " " span.req aria-hidden="true" { "*" } }
            }
            @if let Some(p) = problem {
                p.msg id=(msg_id) { (message(lang, p)) }
            }
            @for level in view.questionnaire.options(q) {
                @let value = level.value.to_string();
                label.opt {
                    input type="radio" name=(name) value=(value) checked[chosen == value] required[q.required];
                    span { (lang.pick(&level.vi, &level.en)) }
                }
            }
            @if !q.required {
                label.opt.none {
                    input type="radio" name=(name) value="" checked[false];
                    span { (lang.pick("Không ý kiến", "No opinion")) }
                }
            }
        }
    }
}

/// What the form says of a problem, in the citizen's language.
fn message(lang: Lang, problem: &Problem) -> String {
    match lang {
        Lang::Vi => message_vi(problem),
        Lang::En => message_en(problem),
    }
}

fn message_vi(problem: &Problem) -> String {
    match problem {
        Problem::Required => "Xin vui lòng chọn một mức trả lời cho câu hỏi này.".into(),
        Problem::NotANumber | Problem::NotAnOption => {
            "Lựa chọn không hợp lệ, xin vui lòng chọn lại một trong các mức trên.".into()
        }
        Problem::CommentTooLong { max, got } => {
            format!("Ý kiến dài {got} ký tự, vượt quá {max} ký tự cho phép. Xin vui lòng rút gọn.")
        }
        Problem::UnknownQuestion(name) => {
            format!("Phiếu gửi lên có mục không thuộc phiếu khảo sát này ({name}). Xin vui lòng gửi lại phiếu.")
        }
        Problem::Repeated(name) => format!("Mục {name} được gửi hai lần. Xin vui lòng gửi lại phiếu."),
    }
}

fn message_en(problem: &Problem) -> String {
    match problem {
        Problem::Required => "Please choose an answer to this question.".into(),
        Problem::NotANumber | Problem::NotAnOption => {
            "That choice is not valid; please choose one of the options.".into()
        }
        Problem::CommentTooLong { max, got } => {
            format!("Your comment has {got} characters, more than the {max} allowed. Please shorten it.")
        }
        Problem::UnknownQuestion(name) => {
            format!("The form sent a field that is not part of this survey ({name}). Please submit again.")
        }
        Problem::Repeated(name) => format!("The field {name} was sent twice. Please submit again."),
    }
}

/// The form, fresh or shown again with the citizen's answers and what to fix.
///
/// One function because it is the citizen's form, written top to bottom as it shows.
pub fn form(view: &FormView<'_>) -> Markup {
    let lang = view.lang;
    let q = view.questionnaire;
    let title = lang.pick(&q.title_vi, &q.title_en);
    let errors = view.errors.filter(|e| !e.is_empty());
    let problem_count = errors.map_or(0, |e| {
        e.questions.len() + usize::from(e.field.is_some()) + usize::from(e.comment.is_some()) + e.general.len()
    });
    html! {
        (layout(lang, title, language_switch(lang, view.path), html! {
            h1 { (title) }
            (who(lang, view.point, view.procedure))
            @if let Some((vi, en)) = view.notice {
                div.alert role="alert" { p { strong { (lang.pick(vi, en)) } } }
            }
            @if let Some(e) = errors {
                div.alert role="alert" {
                    p { strong {
                        @match lang {
                            Lang::Vi => { "Phiếu chưa được gửi: có " (problem_count) " mục cần xem lại." }
                            Lang::En => { "Not sent yet: " (problem_count) " item(s) need another look." }
                        }
                    } }
                    @for p in &e.general { p { (message(lang, p)) } }
                    @if !e.questions.is_empty() || e.field.is_some() || e.comment.is_some() {
                        // Every problem counted above is listed, in the form's order, with a link.
                        ul {
                            @for question in &q.questions {
                                @if let Some(p) = e.questions.get(&question.id) {
                                    li { a href={ "#f_" (question.id) } { (lang.pick(&question.vi, &question.en)) } ": " (message(lang, p)) }
                                }
                            }
                            @if let Some(p) = &e.field {
                                li { a href="#field" { (lang.pick("Lĩnh vực thủ tục", "Procedure field")) } ": " (message(lang, p)) }
                            }
                            @if let Some(p) = &e.comment {
                                li { a href="#comment" { (lang.pick("Ý kiến khác", "Other comments")) } ": " (message(lang, p)) }
                            }
                        }
                    }
                }
            }
            p.small { (lang.pick("Các câu có dấu * là bắt buộc; các câu khác có thể bỏ qua.",
                                  "Questions marked * are required; you may skip the others.")) }
            form method="post" action=(view.path) accept-charset="UTF-8" {
                input type="hidden" name="key" value=(view.key);
                input type="hidden" name="v" value={ (q.id) "@" (q.version) };
                input type="hidden" name="lang" value=(lang.code());
                div.hp aria-hidden="true" {
                    label { "Để trống ô này / leave empty " input type="text" name="website" tabindex="-1" autocomplete="off"; }
                }
                @for question in &q.questions {
                    (question_block(view, question))
                }
                @if q.asks_field && !view.fields.is_empty() {
                    @let problem = errors.and_then(|e| e.field.as_ref());
                    fieldset class=[problem.map(|_| "err")] {
                        legend { label for="field" { (lang.pick("Lĩnh vực thủ tục (không bắt buộc)", "Procedure field (optional)")) } }
                        @if let Some(p) = problem { p.msg id="e_field" { (message(lang, p)) } }
                        select id="field" name="field" aria-describedby=[problem.map(|_| "e_field")] {
                            option value="" { (lang.pick("— Không chọn —", "— None —")) }
                            @for f in view.fields {
                                option value=(f.code) selected[view.draft.field == f.code] { (f.name) }
                            }
                        }
                    }
                }
                @if q.asks_comment {
                    @let problem = errors.and_then(|e| e.comment.as_ref());
                    fieldset class=[problem.map(|_| "err")] {
                        legend { label for="comment" { (lang.pick("Ý kiến khác (không bắt buộc)", "Other comments (optional)")) } }
                        @if let Some(p) = problem { p.msg id="e_comment" { (message(lang, p)) } }
                        textarea id="comment" name="comment" maxlength=(COMMENT_MAX_CHARS) rows="4"
                            aria-describedby=(if problem.is_some() { "e_comment comment_hint" } else { "comment_hint" })
                            { (view.draft.comment) }
                        p.small id="comment_hint" {
                            (lang.pick("Xin đừng ghi số điện thoại hay số giấy tờ; nếu có, hệ thống sẽ tự ẩn.",
                                       "Please do not write phone or ID numbers; any you write are masked."))
                        }
                    }
                }
                button type="submit" { (lang.pick("Gửi đánh giá", "Send rating")) }
            }
            (privacy_notice(lang))
        }))
    }
}

/// After a stored response (Post/Redirect/Get).
pub fn thanks(lang: Lang, point: &PointContext) -> Markup {
    let title = lang.pick("Cảm ơn Ông/Bà đã đánh giá", "Thank you for your rating");
    layout(
        lang,
        title,
        html! {},
        html! {
            div.ok role="status" {
                h1 { (title) }
                p { (lang.pick("Đánh giá của Ông/Bà đã được ghi nhận.", "Your rating has been recorded.")) }
            }
            (who(lang, point, None))
            p.small { (lang.pick("Ông/Bà có thể đóng trang này.", "You may close this page.")) }
        },
    )
}

/// When a sent form could not be stored in time and the form itself cannot be drawn again (the
/// database did not answer even for the point): the citizen's answers come back as they were
/// sent, in hidden fields, with one button to send them again (same one-time key, so a rating
/// that was stored after all is not stored twice).
pub fn resend(lang: Lang, path: &str, pairs: &[(String, String)]) -> Markup {
    let title = lang.pick("Chưa lưu được đánh giá", "Your rating is not saved yet");
    layout(
        lang,
        title,
        html! {},
        html! {
            h1 { (title) }
            div.alert role="alert" {
                p { strong { (lang.pick(
                    "Hệ thống đang chậm nên chưa lưu được đánh giá của Ông/Bà. Các lựa chọn vẫn được giữ nguyên: xin vui lòng bấm Gửi lại.",
                    "The system is slow and your rating was not saved yet. Your answers are kept: please press Send again.",
                )) } }
            }
            form method="post" action=(path) accept-charset="UTF-8" {
                @for (name, value) in pairs {
                    input type="hidden" name=(name) value=(value);
                }
                button type="submit" { (lang.pick("Gửi lại", "Send again")) }
            }
        },
    )
}
