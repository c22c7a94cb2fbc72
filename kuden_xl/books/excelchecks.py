"""Whether Excel can take a send's results, asked through COM before anything is sent."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def com_refusal(book_api: Any, sheet_api: Any, sheet: str, output: Sequence[str]) -> str | None:
    """Why Excel could not take the results, asked through COM before anything is sent.

    ``output`` are the A1 addresses of the output cells the send will write (its rows × the
    output columns). Checked: a workbook opened read-only (a colleague has it open, or it came
    from a mail attachment), a protected sheet whose output cells are locked, and merged cells
    in the output (Excel refuses a block write across part of a merged area).
    """
    if bool(book_api.ReadOnly):
        return (
            f"ブック「{book_api.Name}」は読み取り専用で開かれています（他の人が開いている、"
            "メールの添付から開いたなど）。結果を保存できないため送信しません。"
            "編集できる状態で開き直してから、もう一度押してください。"
            " / The workbook is read-only; nothing was sent."
        )
    # ProtectionMode: protected with UserInterfaceOnly, which lets macros and COM write.
    protected = bool(sheet_api.ProtectContents) and not bool(sheet_api.ProtectionMode)
    locked: list[str] = []
    merged: list[str] = []
    for address in output:
        cells = sheet_api.Range(address)
        if protected and cells.Locked is not False:  # None: some of them are locked
            locked.append(address)
        if cells.MergeCells is not False:  # None: some of them are merged
            merged.append(address)
    if locked:
        return (
            f"シート「{sheet}」は保護されていて、結果を書き込むセル（{', '.join(locked)}）を"
            "変更できません。［校閲］→［シート保護の解除］をしてから、もう一度押してください。"
            "何も送信していません。 / The sheet is protected; nothing was sent."
        )
    if merged:
        return (
            f"シート「{sheet}」の結果を書き込むセル（{', '.join(merged)}）に結合されたセルが"
            "あります。［ホーム］→［セルを結合して中央揃え］で結合を解除してから、"
            "もう一度押してください。何も送信していません。 / Merged output cells; nothing sent."
        )
    return None
