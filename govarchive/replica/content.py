"""The replica's content: deterministic Vietnamese articles for every replica portal.

The replica serves these through each platform's real markup; tests compare what the crawl archived with
this ground truth. Generation is seeded by the portal slug, so every run sees the same portal.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta, timezone

TZ = timezone(timedelta(hours=7))

TOPICS = [
    ("Hội nghị giao ban Mặt trận Tổ quốc và các tổ chức chính trị - xã hội", "Mặt trận Tổ quốc"),
    ("Triển khai nhiệm vụ giải phóng mặt bằng các dự án trọng điểm", "giải phóng mặt bằng"),
    ("Kiểm tra tiến độ xây dựng nông thôn mới tại các xã biên giới", "nông thôn mới"),
    ("Sơ kết công tác chuyển đổi số năm {year}", "chuyển đổi số"),
    ("Hội nghị Ban Chấp hành Đảng bộ tỉnh lần thứ {n}", "xây dựng Đảng"),
    ("Tiếp xúc cử tri trước kỳ họp thứ {n} Hội đồng nhân dân tỉnh", "tiếp xúc cử tri"),
    ("Phát động phong trào thi đua yêu nước năm {year}", "thi đua"),
    ("Tăng cường công tác phòng, chống cháy rừng mùa khô", "phòng cháy rừng"),
    ("Đẩy mạnh cải cách hành chính, nâng cao chỉ số PAR INDEX", "cải cách hành chính"),
    ("Quyết định về việc phê duyệt quy hoạch đô thị Đà Nẵng mở rộng", "quy hoạch"),
    ("Đoàn công tác của Bộ Y tế làm việc tại Điện Biên", "y tế"),
    ("Hội thảo khoa học về phát triển du lịch cộng đồng", "du lịch"),
    ("Bàn giao nhà đại đoàn kết cho hộ nghèo", "an sinh xã hội"),
    ("Tổng kết năm học và triển khai nhiệm vụ năm học mới", "giáo dục"),
]
SENTENCES = [
    "Hội nghị đã đánh giá kết quả thực hiện nhiệm vụ chính trị thời gian qua và đề ra giải pháp cho thời gian tới.",
    "Các đại biểu tập trung thảo luận những khó khăn, vướng mắc trong công tác giải phóng mặt bằng.",
    "Đồng chí Bí thư Tỉnh ủy nhấn mạnh yêu cầu nâng cao chất lượng, hiệu quả công tác phối hợp.",
    "Ủy ban nhân dân tỉnh đã ban hành kế hoạch cụ thể, phân công trách nhiệm cho từng sở, ngành.",
    "Theo báo cáo, tỷ lệ hồ sơ giải quyết đúng hạn đạt trên 98%, tăng so với cùng kỳ năm trước.",
    "Quyết định số 1009/QĐ-UBND được ban hành nhằm cụ thể hóa Nghị định 15/2024/NĐ-CP của Chính phủ.",
    "Người dân đồng tình, ủng hộ chủ trương của Đảng, chính sách pháp luật của Nhà nước.",
    "Tại buổi làm việc, lãnh đạo địa phương kiến nghị hỗ trợ kinh phí xây dựng hạ tầng giao thông.",
    "Trong quý, toàn tỉnh đã tổ chức hơn 120 lớp tập huấn cho cán bộ cơ sở.",
    "Công tác tuyên truyền được đổi mới cả về nội dung và hình thức, phù hợp với từng đối tượng.",
    "Các cơ quan, đơn vị cần chủ động rà soát, tháo gỡ điểm nghẽn, bảo đảm tiến độ đề ra.",
    "Kết thúc hội nghị, Ban Thường vụ đã thống nhất ban hành kết luận chỉ đạo thực hiện.",
    "Đoàn đã đến thăm, tặng quà các gia đình chính sách trên địa bàn huyện Tam Đường.",
    "Thời gian tới, tỉnh tiếp tục đẩy mạnh chuyển đổi số trong các cơ quan nhà nước.",
]
AUTHORS = ["Minh Anh", "Thu Hà", "Quang Huy", "Lò Văn Thắng", "Nguyễn Thị Đào", "Hoàng Long", "Đức Đạt"]
TAG_POOL = ["Mặt trận Tổ quốc", "Lai Châu", "giải phóng mặt bằng", "chuyển đổi số", "xây dựng Đảng", "an sinh",
            "Hội đồng nhân dân", "cải cách hành chính", "nông thôn mới", "Đà Nẵng"]
CATEGORIES = ["Tin hoạt động", "Xây dựng Đảng"]


@dataclass
class Attachment:
    """A file attached to an article (served by the replica)."""

    name: str  # display name, may contain spaces and diacritics
    path: str  # path on the portal host, may contain spaces


@dataclass
class ReplicaArticle:
    """One article of a replica portal: the ground truth the crawl must reproduce."""

    id: int
    title: str
    lead: str
    paragraphs: list[str]
    author: str
    published: datetime
    tags: list[str]
    attachments: list[Attachment] = field(default_factory=list)
    image_caption: str = ""
    category: str = ""
    # a deliberately broken page (no title) to exercise failure recording
    malformed: bool = False

    def edited(self, **changes: object) -> ReplicaArticle:
        """A copy with some fields changed (used by tests that edit the replica)."""
        return replace(self, **changes)  # type: ignore[arg-type]


def generate_articles(slug: str, count: int = 12, *, start_id: int = 100,
                      newest: datetime | None = None) -> list[ReplicaArticle]:
    """Deterministic articles for a portal, newest first."""
    rng = random.Random(slug)
    newest = newest or datetime(2026, 11, 20, 16, 30, tzinfo=TZ)
    articles = []
    when = newest
    for i in range(count):
        title_tpl, tag = TOPICS[(i + len(slug)) % len(TOPICS)]
        quarter = 4 - (i % 4)
        title = title_tpl.format(year=when.year, n=10 + i)
        if "giao ban" in title:
            title = f"{title} quý {['I', 'II', 'III', 'IV'][quarter - 1]}/{when.year}"
        paragraphs = rng.sample(SENTENCES, k=4 + i % 3)
        tags = list(dict.fromkeys([tag, *rng.sample(TAG_POOL, k=1 + i % 3)]))
        attachments = []
        if i % 3 == 0:
            attachments.append(
                Attachment(name=f"Quyết định số {100 + i}/QĐ-UBND", path=f"/VanBan/QD {100 + i} UBND.pdf"))
        if i % 4 == 1:
            attachments.append(Attachment(name="Kế hoạch triển khai.docx", path=f"/VanBan/Ke hoach {i}.docx"))
        if i % 5 == 2:
            attachments.append(Attachment(name="Phụ lục số liệu", path=f"/VanBan/PL{100 + i}.xlsx"))
        if i % 6 == 4:
            attachments.append(Attachment(name="Công văn số 215/UBND-VX", path=f"/VanBan/CV 215 UBND {i}.doc"))
        articles.append(ReplicaArticle(
            id=start_id + count - i,
            title=title,
            lead=f"(ĐCSVN) - {paragraphs[0]}",
            paragraphs=paragraphs[1:],
            author=AUTHORS[i % len(AUTHORS)],
            published=when,
            tags=tags,
            attachments=attachments,
            image_caption=f"Quang cảnh {title.split(' ')[0].lower()} {title.split(' ', 1)[1][:40]}",
            category=CATEGORIES[i % len(CATEGORIES)],
        ))
        when = when - timedelta(hours=rng.randint(5, 60), minutes=rng.randint(0, 59))
    return articles
