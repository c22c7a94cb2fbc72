"""Generate reminder_template.xlsx and sample_reminders.xlsx (deterministic: same cells each run).

Run: ``python -m kuden_xl.workbook_templates.generate [OUTDIR]`` (this folder,
``workbook_templates/`` at the repository root, is installed as ``kuden_xl.workbook_templates``).
Every phone number here is fictional (the 0X0-1234-NNNN range used throughout the project's tests
and docs).
"""

from __future__ import annotations

import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from kuden_xl.config import SETTINGS_ROWS
from kuden_xl.message import count
from kuden_xl.schema import OUTPUT_COLUMNS, SETTINGS_SHEET

from . import HERE

RECIPIENTS = "送信リスト"
INPUT_COLUMNS = ("管理番号", "氏名", "電話番号", "金額", "納期限", "除外", "番号チェック")
# Fits one SMS (70 characters) for the sample's longest name and amount.
SAMPLE_BODY = (
    "【○○市保険年金課】{氏名}様 国保料{金額}円（納期限{納期限}）が未納です。問合せ0120-000-000"
)

USAGE_LINES = (
    "kuden_xl の使い方",
    "",
    "1. 「送信リスト」シートに、1行に1人ずつ入力します。電話番号の列は必須です（文字列として入力）。",
    "2. 「設定」シートの「本文」に文面を入れます。{氏名} {金額} {納期限} など、列名を波かっこで囲むと差し込まれます。",
    "3. 「番号チェック」列の =KUDEN_CHECK(C2) は、SMS を受け取れる携帯番号なら OK、そうでなければ理由を表示します。",
    "4. 送る行を選択し、リボンの「SMS送信」タブ →「選択行を送信」を押します。確認の画面で件数と費用を確かめてから OK を押します。",
    "5. 送信日時・送信本文・結果コード・結果・通数・メッセージID が行の右に記録されます。このブックが送信の記録です。",
    "6. 後日「配信結果を更新」を押すと、配信結果（配信済・不達など）と確認日時が記録されます。",
    "",
    "注意",
    "・結果コードが ACCEPTED・SCHEDULED・UNKNOWN の行は送信済みの記録です。消したり書き換えたりしないでください。",
    "・除外の列に何か入力した行（FALSE や 0 を除く）は送信しません。",
    "・同じ番号が複数の行にあるときは、上の行だけに送ります（重複番号）。",
    "・送信時間帯の外では送信しません。①や㈱などの環境依存文字は使えません（結果に置き換え候補を表示します）。",
    "・本文に URL は入れないでください（市からの SMS にリンクはないと案内しているため）。",
    "",
    "使える関数（ワークシート関数）",
    "=KUDEN_CHECK(番号)  … OK または送れない理由",
    "=KUDEN_VALID(番号)  … TRUE / FALSE",
    "=KUDEN_NORMALIZE(番号)  … 09012345678 の形に整えた番号",
    "=KUDEN_LENGTH(本文) / =KUDEN_SEGMENTS(本文) / =KUDEN_BADCHARS(本文)  … 文字数・通数・使用不可文字",
    "=KUDEN_RENDER(本文, 見出し範囲, 行範囲)  … その行に届く本文",
)

TEMPLATES = (
    (
        "督促（催告書の前）",
        "【○○市 保険年金課】国民健康保険料の納期限が過ぎています。お支払いまたはご相談をお願いします。問合せ0120-000-000",
    ),
    (
        "重要書類の送付",
        "【○○市 保険年金課】国民健康保険に関する大切なお知らせを郵送しました。開封してご確認ください。問合せ0120-000-000",
    ),
    (
        "口座振替不能",
        "【○○市 保険年金課】今月の国民健康保険料が口座から引き落とせませんでした。納付書でのお支払いをお願いします。",
    ),
    (
        "休日・夜間納付相談",
        "【○○市 保険年金課】土日・夜間の納付相談窓口を開設します。日程は市の窓口または0120-000-000へ。",
    ),
    (
        "資格喪失・転出の届出",
        "【○○市 保険年金課】国民健康保険の資格喪失（転出・社保加入）の届出がお済みでないようです。至急ご連絡ください。",
    ),
    (
        "還付口座の届出",
        "【○○市 保険年金課】保険料の還付があります。同封の口座振込依頼書をご返送ください。問合せ0120-000-000",
    ),
)


def _sample_rows() -> list[tuple[Any, ...]]:
    """About 30 fictional households covering messy numbers, exclusions and duplicates."""

    def mobile(prefix: str, tail: int) -> str:
        return f"{prefix}-1234-{tail:04d}"

    due = datetime(2026, 10, 31)
    full_width = mobile("090", 5611).translate(
        str.maketrans("0123456789-", "０１２３４５６７８９－")
    )
    rows: list[tuple[Any, ...]] = [
        ("K0001", "山田 太郎", mobile("090", 5610), 12300, due, None),
        ("K0002", "佐藤 花子", full_width, 8600, due, None),
        ("K0003", "鈴木 一郎", f"+81 {mobile('80', 5612)}", 15000, due, None),
        ("K0004", "高橋 次郎", int(mobile("90", 5613).replace("-", "")), 4200, due, None),
        ("K0005", "田中 三郎", float(mobile("80", 5614).replace("-", "")), 23400, due, None),
        ("K0006", "伊藤 桜", "9.01E+09", 5600, due, None),
        ("K0007", "渡辺 健", "03-1234-5678", 7800, due, None),
        ("K0008", "山本 恵", "0120-000-000", 9100, due, None),
        ("K0009", "中村 誠", None, 6400, due, None),
        ("K0010", "小林 優子", mobile("070", 5615), 11200, due, "転居"),
        ("K0011", "加藤 翼", mobile("090", 5610), 3300, due, None),
        ("K0012", "吉田 直樹", mobile("060", 5616), 18700, due, None),
        (
            "K0013",
            "山口 彩",
            f"({mobile('090', 5617)[:3]}){mobile('090', 5617)[4:]}",
            2500,
            due,
            None,
        ),
        ("K0014", "松本 大輔", mobile("090", 5618) + " / " + mobile("080", 5619), 4700, due, None),
        ("K0015", "井上 陽子", "'" + mobile("080", 5620).replace("-", ""), 12900, due, None),
        ("K0016", "木村 亮", mobile("020", 5621), 8800, due, None),
        ("K0017", "林 美咲", mobile("070", 5622), None, due, None),
        ("K0018", "髙橋 勇", mobile("090", 5623), 6100, due, None),
        ("K0019", "清水 香織", mobile("080", 5624), 9900, due, "TRUE"),
        ("K0020", "森 拓也", mobile("090", 5625), 14100, due, 0),
        ("K0021", "池田 真由美", mobile("090", 5601), 5200, due, None),
        ("K0022", "橋本 悠", mobile("080", 5602), 7300, due, None),
        ("K0023", "石川 愛", mobile("070", 5603), 8100, due, None),
        ("K0024", "前田 剛", mobile("090", 5604), 9400, due, None),
        ("K0025", "藤田 茜", mobile("080", 5626), 10600, due, None),
        ("K0026", "後藤 学", "090-12345", 3900, due, None),
        ("K0027", "岡田 光", "ABC-1234-5678", 4400, due, None),
        ("K0028", "長谷川 結衣", mobile("070", 5627), 16300, due, None),
        ("K0029", "村上 翔", "050-1234-5628", 2100, due, None),
        ("K0030", "近藤 千尋", full_width, 5900, due, None),
    ]
    return rows


def build(path: Path, *, sample: bool) -> None:
    import openpyxl
    from openpyxl.styles import Alignment, Font, PatternFill

    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = RECIPIENTS
    headers = INPUT_COLUMNS + OUTPUT_COLUMNS
    ws.append(list(headers))
    bold = Font(bold=True)
    fill = PatternFill("solid", fgColor="DDEBF7")
    out_fill = PatternFill("solid", fgColor="EDEDED")
    for i, name in enumerate(headers, start=1):
        cell = ws.cell(row=1, column=i)
        cell.font = bold
        cell.fill = out_fill if name in OUTPUT_COLUMNS else fill
    widths = {
        "管理番号": 10,
        "氏名": 14,
        "電話番号": 16,
        "金額": 10,
        "納期限": 14,
        "除外": 8,
        "番号チェック": 16,
        "送信日時": 17,
        "送信本文": 50,
        "結果コード": 18,
        "結果": 14,
        "通数": 6,
        "メッセージID": 22,
        "配信結果": 14,
        "配信確認日時": 17,
    }
    for i, name in enumerate(headers, start=1):
        ws.column_dimensions[openpyxl.utils.get_column_letter(i)].width = widths.get(name, 12)
    ws.freeze_panes = "A2"
    phone_col = headers.index("電話番号") + 1
    check_col = openpyxl.utils.get_column_letter(headers.index("番号チェック") + 1)
    phone_letter = openpyxl.utils.get_column_letter(phone_col)
    rows = _sample_rows() if sample else []
    # Text format for the phone column, so Excel keeps leading zeros of what staff type.
    for r in range(2, max(len(rows) + 2, 501)):
        ws.cell(row=r, column=phone_col).number_format = "@"
    for offset, values in enumerate(rows):
        r = offset + 2
        for c, value in enumerate(values, start=1):
            cell = ws.cell(row=r, column=c, value=value)
            if isinstance(value, datetime):
                cell.number_format = "yyyy/mm/dd"
            elif headers[c - 1] == "金額":
                cell.number_format = "#,##0"
            elif isinstance(value, str):
                cell.data_type = "s"  # '+81 …' and "'080…" stay text
        ws[f"{check_col}{r}"] = f"=KUDEN_CHECK({phone_letter}{r})"

    settings = wb.create_sheet(SETTINGS_SHEET)
    settings.append(["項目", "値", "説明"])
    for key, value, note in SETTINGS_ROWS:
        settings.append([key, SAMPLE_BODY if key == "本文" else value, note])
    if sample:
        settings.append(
            ["サンプル", "はい", "練習用のブックです。練習用の送信先（sandbox）にしか送れません"]
        )
    for cell in settings[1]:
        cell.font = bold
    settings.column_dimensions["A"].width = 18
    settings.column_dimensions["B"].width = 60
    settings.column_dimensions["C"].width = 70
    settings["B2"].alignment = Alignment(wrap_text=True)

    usage = wb.create_sheet("使い方")
    for line in USAGE_LINES:
        usage.append([line])
    usage["A1"].font = Font(bold=True, size=14)
    usage.column_dimensions["A"].width = 120

    examples = wb.create_sheet("文例")
    examples.append(["用途", "本文", "文字数", "通数"])
    for purpose, body in TEMPLATES:
        chars, segments = count(body)
        examples.append([purpose, body, chars, segments])
    for cell in examples[1]:
        cell.font = bold
    examples.column_dimensions["A"].width = 22
    examples.column_dimensions["B"].width = 110

    path.parent.mkdir(parents=True, exist_ok=True)
    wb.save(path)


def main(argv: list[str] | None = None) -> None:
    args = sys.argv[1:] if argv is None else argv
    outdir = Path(args[0]) if args else HERE
    build(outdir / "reminder_template.xlsx", sample=False)
    build(outdir / "sample_reminders.xlsx", sample=True)
    print(f"wrote {outdir / 'reminder_template.xlsx'} and {outdir / 'sample_reminders.xlsx'}")


if __name__ == "__main__":
    main()
