"""The bundled sample ledger, after the published notice in shared/seed: 6 aspects, 10 problems.

Deadlines are relative to the day the demo starts, so the demo always shows every light.
"""

from __future__ import annotations

from datetime import date, timedelta
from itertools import pairwise
from pathlib import Path

from openpyxl import Workbook
from openpyxl.styles import Alignment, Font

ROUND_NAME = "区委第二巡察组巡察区文化和旅游局"
INSPECTED_UNIT = "区文化和旅游局"
INSPECTION_GROUP = "区委第二巡察组"

A1 = "(一)学习习近平总书记关于黄河流域生态保护和高质量发展的重要讲话、重要指示精神不到位"
A2 = "(二)落实黄河国家战略组织领导不够有力"
A3 = "(三)打造长三角地区休闲旅游后花园存在短板"
A4 = "(四)夜间经济集聚区品质不够高"
A5 = "(五)文化执法还存在薄弱环节"
A6 = "(六)问题整改不到位"

# aspect, problem, task, measures, kind, leader, lead unit, partner units, owner, supervisor,
# deadline (days from the demo's start, or a word), status, progress
ROWS: list[tuple[str, str, str, str, str, str, str, str, str, str, int | str, str, str]] = [
    (
        A1,
        "理论学习有计划无行动",
        "制定并落实理论中心组学习方案",
        "制定理论中心组学习方案；召开黄河流域生态保护和高质量发展专题学习会",
        "立行立改",
        "王建国",
        "办公室",
        "",
        "赵磊",
        "陈静",
        3,
        "推进中",
        "学习方案已起草，待党组会审议",
    ),
    (
        A2,
        "",
        "建立黄河战略工作任务台账并调度督办",
        "建立《推动黄河流域生态保护和高质量发展工作任务台账》，明确牵头和参与任务、责任人和措施",
        "限期整改",
        "王建国",
        "办公室",
        "产业发展股",
        "孙丽",
        "陈静",
        -4,
        "推进中",
        "",
    ),
    (
        A3,
        "1、对文化旅游发展统筹谋划不足",
        "加强与长三角地区对接，抓好文旅项目策划",
        "赴江浙沪考察学习；指导文旅企业编制项目策划方案",
        "限期整改",
        "李明",
        "产业发展股",
        "资源开发股",
        "周强",
        "陈静",
        25,
        "",
        "",
    ),
    (
        A3,
        "2、文化旅游产业提质增效不明显",
        "推进A级景区管理和精品民宿建设",
        "对照A级景区评定标准指导景区整改；召开“沂蒙民宿”推进会",
        "长期坚持",
        "李明",
        "资源开发股",
        "",
        "吴敏",
        "陈静",
        "长期坚持",
        "推进中",
        "已召开民宿推进会",
    ),
    (
        A3,
        "3、工业旅游推进缓慢",
        "推动银凤陶瓷博物馆和拾光1946项目建设",
        "指导银凤陶瓷打造工业旅游项目；启动老旧厂房改造",
        "限期整改",
        "李明",
        "产业发展股",
        "",
        "周强",
        "陈静",
        12,
        "未启动",
        "",
    ),
    (
        A4,
        "",
        "创建夜间文旅消费集聚区",
        "指导湖南崖商文旅消费集聚区申报市级夜间文化旅游消费集聚区",
        "限期整改",
        "李明",
        "产业发展股",
        "",
        "孙丽",
        "陈静",
        1,
        "推进中",
        "申报材料已报送",
    ),
    (
        A5,
        "1、法治意识不够强",
        "组织执法队员集中学习执法规范",
        "集中学习文化市场执法规范，全员签订承诺书",
        "立行立改",
        "张伟",
        "文化市场综合执法大队",
        "",
        "郑涛",
        "陈静",
        -20,
        "已销号",
        "已完成集中学习",
    ),
    (
        A5,
        "2、案件处罚措施不一致",
        "执行行政处罚裁量基准",
        "学习《山东省文化市场综合执法行政处罚裁量基准》，制定下发执行通知",
        "限期整改",
        "张伟",
        "文化市场综合执法大队",
        "办公室",
        "郑涛",
        "陈静",
        8,
        "推进中",
        "",
    ),
    (
        A6,
        "1、制定的罚没物品处置管理办法未落实的问题",
        "设立罚没物品仓库，完善处置办法",
        "专设罚没物品仓库；完善《罚没物品管理处理暂行办法》",
        "限期整改",
        "张伟",
        "文化市场综合执法大队",
        "",
        "郑涛",
        "陈静",
        40,
        "",
        "",
    ),
    (
        A6,
        "2、“文化执法不规范”问题",
        "规范执法文书制作",
        "集中学习执法文书制作规范；分管领导约谈案卷制作人员",
        "限期整改",
        "张伟",
        "文化市场综合执法大队",
        "",
        "郑涛、赵磊",
        "陈静",
        18,
        "",
        "",
    ),
]

HEADERS = [
    "序号",
    "方面",
    "具体问题",
    "整改任务",
    "整改措施",
    "任务类型",
    "牵头/参与",
    "责任领导",
    "牵头单位",
    "配合单位",
    "责任人",
    "督办人",
    "整改时限",
    "状态",
    "整改进展",
    "备注",
]

# who is who beyond the sheet: the unit's head and the admin office
HEAD = ("王建国", "区文化和旅游局", "局长")


def write_sample(path: Path, start: date) -> Path:
    """Write the sample as a real office would: title rows, merged aspect cells, Chinese dates."""
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    sheet.title = "整改台账"
    sheet.append([f"{INSPECTED_UNIT}落实{INSPECTION_GROUP}巡察反馈意见整改台账"])
    sheet.merge_cells(start_row=1, start_column=1, end_row=1, end_column=len(HEADERS))
    sheet["A1"].font = Font(bold=True, size=14)
    sheet["A1"].alignment = Alignment(horizontal="center")
    sheet.append([f"填报单位：{INSPECTED_UNIT}办公室"])
    sheet.append(HEADERS)
    first_row_of_aspect: dict[str, int] = {}
    for number, row in enumerate(ROWS, start=1):
        (
            aspect,
            problem,
            task,
            measures,
            kind,
            leader,
            unit,
            partners,
            owner,
            supervisor,
            deadline,
            status,
            progress,
        ) = row
        if isinstance(deadline, int):
            day = start + timedelta(days=deadline)
            deadline_cell: object = f"{day.year}年{day.month}月{day.day}日"
        else:
            deadline_cell = deadline
        excel_row = sheet.max_row + 1
        if aspect in first_row_of_aspect:
            aspect_cell: str | None = None
        else:
            first_row_of_aspect[aspect] = excel_row
            aspect_cell = aspect
        sheet.append(
            [
                number,
                aspect_cell,
                problem,
                task,
                measures,
                kind,
                "牵头",
                leader,
                unit,
                partners,
                owner,
                supervisor,
                deadline_cell,
                status,
                progress,
                "",
            ]
        )
    last = sheet.max_row
    rows_of = {a: r for a, r in first_row_of_aspect.items()}
    ordered = [*sorted(rows_of.values()), last + 1]
    for begin, end in pairwise(ordered):
        if end - 1 > begin:
            sheet.merge_cells(start_row=begin, start_column=2, end_row=end - 1, end_column=2)
    workbook.save(path)
    return path
