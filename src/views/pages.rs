//! Small pages: the start page and the error pages.

use maud::{Markup, html};

use super::{Lang, layout};

/// The public start page.
pub fn start() -> Markup {
    layout(
        Lang::Vi,
        "hailong — Đánh giá sự hài lòng",
        html! {},
        html! {
            h1 { "Đánh giá sự hài lòng về giải quyết thủ tục hành chính" }
            p {
                "Người dân, tổ chức vừa nộp hoặc nhận hồ sơ tại Bộ phận Một cửa xin quét mã QR dán tại quầy "
                "hoặc in trên Giấy tiếp nhận hồ sơ và hẹn trả kết quả để đánh giá. Chỉ mất chưa đến một phút, "
                "không cần cài ứng dụng."
            }
            p lang="en" class="small" {
                "Citizens who have just lodged or collected a dossier at a one-stop desk: scan the QR code "
                "at the desk or on your receipt to rate the service. It takes under a minute; no app needed."
            }
            (privacy_notice(Lang::Vi))
        },
    )
}

/// The short notice of purpose every form carries.
pub fn privacy_notice(lang: Lang) -> Markup {
    html! {
        details.notice {
            summary { (lang.pick("Thông tin về bảo vệ dữ liệu cá nhân", "About your personal data")) }
            @match lang {
                Lang::Vi => {
                    p { "Mục đích: kết quả đánh giá dùng để cải thiện chất lượng phục vụ và đánh giá cán bộ, đơn vị "
                        "theo Nghị định 61/2018/NĐ-CP và các văn bản hướng dẫn." }
                    p { "Ẩn danh: phiếu không hỏi họ tên, số điện thoại; hệ thống không lưu địa chỉ IP hay thông tin "
                        "thiết bị của Ông/Bà. Số điện thoại, số giấy tờ tùy thân ghi trong ý kiến được tự động ẩn trước khi lưu. "
                        "Cán bộ được đánh giá không biết ai đã đánh giá mình; kết quả chỉ được sử dụng dưới dạng tổng hợp." }
                    p { "Lưu giữ: ý kiến bằng chữ được xóa sau thời hạn lưu trữ của đơn vị; điểm đánh giá được giữ để "
                        "tổng hợp chỉ số hằng năm." }
                }
                Lang::En => {
                    p { "Purpose: ratings are used to improve the service and to evaluate officers and units under "
                        "Decree 61/2018/NĐ-CP." }
                    p { "Anonymity: the form asks for no name or phone number, and no IP address or device "
                        "information is stored. Phone and ID numbers written in a comment are masked before it is "
                        "stored. Officers never see who rated them; results are used only in aggregate." }
                    p { "Retention: written comments are deleted after the unit's retention period; ratings are kept "
                        "for the yearly indices." }
                }
            }
        }
    }
}

/// A page for a request that cannot be served, in Vietnamese with English beneath.
/// `request`: the request's id, shown so that a citizen or an officer can quote it and the
/// operator find the request's log lines.
pub fn error(title_vi: &str, text_vi: &str, title_en: &str, text_en: &str, request: Option<&str>) -> Markup {
    layout(
        Lang::Vi,
        title_vi,
        html! {},
        html! {
            h1 { (title_vi) }
            p { (text_vi) }
            div lang="en" class="small" {
                h2 { (title_en) }
                p { (text_en) }
            }
            @if let Some(id) = request {
                div.small.request-id { "Mã yêu cầu (request id): " code { (id) } }
            }
        },
    )
}
