"""Answers from the measurements: questions in English or Chinese about the eyes, mouth, smile, laugh, head pose,
gaze, face count, size or proportions are answered with the measured value, the threshold, and the statement that
thresholds are heuristic. Other questions are left to the vision-language models (``applies=False``), and questions
in other languages get a message saying which languages are understood."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from types import MappingProxyType

from backends.tasks.face.messages import HEURISTIC_NOTE, FaceAnswer
from backends.vision import face as geometry
from backends.vision.face import FaceMeasures

ENGINE = "face/mediapipe"

# Words removed before topic matching: they contain a topic word but ask about something not measured
# ("eyeglasses" is not about the eyes, 头发 (hair) is not about the head, 看起来 means "looks like").
_NOT_MEASURED = MappingProxyType({
    "en": ("eyeglass", "eyebrow", "eyeliner", "eyelash", "eye colour", "eye color", "eyeshadow", "forehead",
           "headband", "headscarf", "head scarf", "headwear", "lipstick"),
    "zh": ("眼镜", "眉", "眼影", "睫毛", "眼睛颜色", "眼珠颜色", "头发", "光头", "头巾", "看起来", "看上去",
           "好看", "口红", "唇膏"),
})
# Topic keywords in matching order: the first topic whose keyword occurs wins.
_TOPICS = (
    ("count", ("how many", "number of faces", "number of people", "count"),
     ("几张脸", "几个人", "多少", "几位", "人数", "几张", "几个")),
    ("laugh", ("laugh",), ("大笑", "哈哈")),
    ("smile", ("smil", "grin"), ("笑",)),
    ("gaze", ("looking at", "look at", "gaze", "camera", "looking", "staring", "viewer"),
     ("看", "视线", "目光", "镜头", "注视", "盯")),
    ("eyes", ("eye", "blink", "wink"), ("眼", "眨")),
    ("mouth", ("mouth", "lips", "teeth"), ("嘴", "唇", "牙")),
    ("pose", ("head", "turn", "tilt", "facing", "frontal", "profile", "pose", "yaw", "pitch", "roll", "angle", "nod",
              "rotat"), ("头", "转", "歪", "侧", "正脸", "正面", "抬", "低", "姿态", "角度", "朝向")),
    ("size", ("where", "how big", "how large", "size", "box", "position"), ("位置", "在哪", "多大", "大小", "哪里")),
    ("proportions", ("proportion", "ratio", "long face", "wide face"), ("比例", "长脸", "宽脸")),
)
_LANGUAGE_ZH = MappingProxyType({
    "ja": "日语", "ko": "韩语", "ru": "俄语", "ar": "阿拉伯语", "el": "希腊语", "hi": "印地语", "th": "泰语",
    "he": "希伯来语", "fr": "法语", "es": "西班牙语", "de": "德语", "it": "意大利语", "pt": "葡萄牙语",
})
_YES_NO_EN = re.compile(r"^\s*(is|are|does|do|did|can|has|have|was|were|will|would|could)\b", re.IGNORECASE)
_SCRIPTS = (  # (language, name, code-point ranges)
    ("ja", "Japanese", ((0x3040, 0x30FF),)), ("ko", "Korean", ((0xAC00, 0xD7AF), (0x1100, 0x11FF))),
    ("zh", "Chinese", ((0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF))),
    ("ru", "Russian (Cyrillic)", ((0x0400, 0x04FF),)), ("ar", "Arabic", ((0x0600, 0x06FF),)),
    ("el", "Greek", ((0x0370, 0x03FF),)), ("hi", "Hindi (Devanagari)", ((0x0900, 0x097F),)),
    ("th", "Thai", ((0x0E00, 0x0E7F),)), ("he", "Hebrew", ((0x0590, 0x05FF),)),
)
# Frequent function words of other Latin-script languages; an English question has none of them.
_LATIN_OTHERS = (
    ("fr", "French", ("est-ce", "les", "des", "une", "il", "elle", "sont", "yeux", "bouche", "sourit", "personne")),
    ("es", "Spanish", ("el", "los", "las", "una", "está", "están", "ojos", "boca", "sonríe", "persona", "tiene")),
    ("de", "German", ("ist", "sind", "die", "der", "das", "augen", "mund", "lächelt", "person", "hat", "eine")),
    ("it", "Italian", ("gli", "sono", "una", "occhi", "bocca", "sorride", "persona", "ha")),
    ("pt", "Portuguese", ("os", "uma", "estão", "olhos", "boca", "sorrindo", "pessoa", "tem")),
)


@dataclass(frozen=True)
class Statement:
    """A measured statement in both languages, with its verdict, numbers and rule."""

    verdict: bool | None
    en: str
    zh: str
    values: dict[str, float]
    threshold: str


def question_language(question: str) -> tuple[str, str]:
    """The question's language as ``(code, name)``: ``en`` and ``zh`` are understood; others are named so the
    answer can say so. Kana marks Japanese even with kanji; Latin text is English unless it has another language's
    frequent words and no English one."""
    counts = {code: sum(1 for ch in question if any(lo <= ord(ch) <= hi for lo, hi in ranges))
              for code, _, ranges in _SCRIPTS}
    for code, name, _ in _SCRIPTS:
        if code != "zh" and counts[code]:
            return code, name
    if counts["zh"]:
        return "zh", "Chinese"
    words = set(re.findall(r"[a-zà-ÿ\-]+", question.lower()))
    english = {"is", "are", "the", "does", "do", "what", "which", "how", "person", "eyes", "mouth", "face", "head"}
    for code, name, markers in _LATIN_OTHERS:
        if len(words & set(markers)) >= 2 and not words & english:
            return code, name
    return "en", "English"


def topic_of(question: str, language: str) -> str:
    """What a question asks about (a key of the topics), or "" when it is not about a measured attribute."""
    text = question.lower()
    for word in _NOT_MEASURED[language]:
        text = text.replace(word, " ")
    for topic, english, chinese in _TOPICS:
        if any(word in text for word in (english if language == "en" else chinese)):
            return topic
    return ""


def is_yes_no(question: str, language: str) -> bool:
    """Whether the question expects yes or no."""
    if language == "zh":
        return bool(re.search(r"(吗|么|嘛)[？?。\s]*$", question)) or any(w in question for w in ("是不是", "有没有",
                                                                                                "是否", "有无"))
    return bool(_YES_NO_EN.match(question))


def answer(question: str, faces: Sequence[FaceMeasures], chosen: FaceMeasures | None,
           image_size: tuple[int, int]) -> FaceAnswer:
    """The measured answer to ``question`` about ``chosen`` (one of ``faces``).

    Args:
        question: the question (English or Chinese).
        faces: every face found.
        chosen: the face asked about (None when there is none).
        image_size: ``(width, height)`` of the image.
    """
    code, name = question_language(question)
    if code not in ("en", "zh"):
        return FaceAnswer(ENGINE, question, code, applies=False, text=(
            f"Questions are understood in English and Chinese; this one looks like {name}. The measurements are in "
            f"the attributes panel; ask again in English or Chinese for a measured answer. "
            f"问题仅支持英文和中文；这个问题看起来是{_LANGUAGE_ZH.get(code, '其他语言')}。"
            f"请用英文或中文重新提问以获得测量答案。"))
    topic = topic_of(question, code)
    if not topic:
        text = ("Not a measured attribute (eyes, mouth, smile, laugh, head pose, gaze, face count, size, "
                "proportions): see the vision-language models' answers." if code == "en" else
                "这个问题不涉及测量的属性（眼睛、嘴巴、微笑、大笑、头部姿态、视线、人脸数量、大小、比例），"
                "请看视觉语言模型的回答。")
        return FaceAnswer(ENGINE, question, code, text=text, applies=False)
    yes_no = is_yes_no(question, code)
    statement = _count(faces) if topic == "count" else _about(topic, question.lower(), chosen, image_size)
    prefix = ""
    if yes_no and statement.verdict is not None:
        yes, no = ("Yes. ", "No. ") if code == "en" else ("是的。", "不是。")
        prefix = yes if statement.verdict else no
    where = ""
    if chosen is not None and len(faces) > 1 and topic != "count":
        where = (f" (Face #{chosen.index} of {len(faces)}.)" if code == "en" else
                 f"（第 {chosen.index} 张脸，共 {len(faces)} 张。）")
    body = statement.en if code == "en" else statement.zh
    space = " " if code == "en" else ""
    text = f"{prefix}{body}{where}{space}{HEURISTIC_NOTE[code]}"
    return FaceAnswer(ENGINE, question, code, text=text, topic=topic, verdict=statement.verdict if yes_no else None,
                      values=statement.values, threshold=statement.threshold)


# --------------------------------------------------------------------------------------------------------------------
# One statement per topic
# --------------------------------------------------------------------------------------------------------------------
def _count(faces: Sequence[FaceMeasures]) -> Statement:
    n = len(faces)
    return Statement(n > 0, f"{n} face{'s' if n != 1 else ''} found (MediaPipe face detection, confidence >= 0.5).",
                     f"检测到 {n} 张脸（MediaPipe 人脸检测，置信度 ≥ 0.5）。", {"count": float(n)},
                     "detection confidence >= 0.5")


def _zh_reason(reason: str) -> str:
    if "px wide" in reason:
        return "脸部太小，无法可靠定位关键点"
    if "mesh could not" in reason:
        return "无法拟合面部网格（侧脸、遮挡或模糊）"
    if "turned" in reason:
        return "头部转动过大，远侧的脸被遮挡"
    return "无法测量"


def _unmeasured(topic: str, face: FaceMeasures | None) -> Statement:
    if face is None:
        return Statement(None, "No face was found in the image (MediaPipe face detection, confidence >= 0.5).",
                         "图中没有检测到人脸（MediaPipe 人脸检测，置信度 ≥ 0.5）。", {}, "")
    reason = face.unmeasured.get(topic) or next(iter(face.unmeasured.values()), "not measurable")
    return Statement(None, f"Face #{face.index}: the {topic} cannot be measured: {reason}.",
                     f"第 {face.index} 张脸的{_TOPIC_ZH.get(topic, topic)}无法测量：{_zh_reason(reason)}。", {}, "")


_TOPIC_ZH = MappingProxyType({"eyes": "眼睛", "mouth": "嘴巴", "smile": "微笑", "laugh": "大笑", "pose": "头部姿态",
                              "gaze": "视线", "size": "位置和大小", "proportions": "比例"})


def _about(topic: str, question: str, face: FaceMeasures | None, size: tuple[int, int]) -> Statement:
    if face is None:
        return _unmeasured(topic, None)
    if topic == "size":
        return _size(face, size)
    key = "smile" if topic == "laugh" else topic
    missing = face.pose is None or (key in face.unmeasured and key != "eyes") or (key == "eyes" and not face.ear)
    if missing:
        return _unmeasured(key, face)
    return {"eyes": _eyes, "mouth": _mouth, "smile": _smile, "laugh": _laugh, "pose": _pose, "gaze": _gaze,
            "proportions": _proportions}[topic](face, question)


def _eyes(face: FaceMeasures, question: str) -> Statement:
    side = None
    if "left" in question or "左" in question:
        side = "left"
    elif "right" in question or "右" in question:
        side = "right"
    wants_closed = any(w in question for w in ("closed", "shut", "blink", "asleep", "sleep", "闭", "合", "眨"))
    sides = [side] if side else list(face.ear)
    if side and side not in face.ear:
        return _unmeasured("eyes", face)
    states = {s: face.ear[s] >= geometry.EAR_OPEN for s in sides}
    all_open, none_open = all(states.values()), not any(states.values())
    verdict = none_open if wants_closed else all_open
    names = {"right": ("right", "右眼"), "left": ("left", "左眼")}
    numbers_en = ", ".join(f"{names[s][0]} {face.ear[s]:.2f}" for s in sides)
    numbers_zh = "、".join(f"{names[s][1]} {face.ear[s]:.2f}" for s in sides)
    if len(sides) == 1:
        state_en = f"the {names[sides[0]][0]} eye (the person's own) is {'open' if all_open else 'closed'}"
        state_zh = f"{names[sides[0]][1]}（此人自己的）{'睁开' if all_open else '闭合'}"
    else:
        state_en = "both eyes are open" if all_open else "both eyes are closed" if none_open else "one eye is closed"
        state_zh = "双眼睁开" if all_open else "双眼闭合" if none_open else "一只眼闭合"
    hidden = " The other eye is hidden by the head turn." if len(face.ear) == 1 and not side else ""
    hidden_zh = "另一只眼因转头被遮挡。" if hidden else ""
    rule = f"open at EAR >= {geometry.EAR_OPEN:g}"
    return Statement(
        verdict, f"Measured: {state_en}; eye aspect ratio (EAR) {numbers_en}; an eye counts as open at EAR >= "
                 f"{geometry.EAR_OPEN:g}.{hidden}",
        f"测量结果：{state_zh}；眼睛纵横比（EAR）{numbers_zh}；EAR ≥ {geometry.EAR_OPEN:g} 视为睁开。{hidden_zh}",
        {f"ear_{s}": round(face.ear[s], 3) for s in sides}, rule)


def _mouth(face: FaceMeasures, question: str) -> Statement:
    wants_closed = any(w in question for w in ("closed", "shut", "闭", "合"))
    is_open = bool(face.mouth_open())
    return Statement(
        (not is_open) if wants_closed else is_open,
        f"Measured: the mouth is {'open' if is_open else 'closed'}; mouth aspect ratio (MAR, inner lips) "
        f"{face.mar:.2f}; open at MAR >= {geometry.MAR_OPEN:g}.",
        f"测量结果：嘴巴{'张开' if is_open else '闭合'}；嘴部纵横比（MAR，内唇）{face.mar:.2f}；"
        f"MAR ≥ {geometry.MAR_OPEN:g} 视为张开。",
        {"mar": round(face.mar, 3)}, f"open at MAR >= {geometry.MAR_OPEN:g}")


def _smile_numbers(face: FaceMeasures) -> tuple[str, str, dict[str, float]]:
    lift, width = face.smile["corner_lift"], face.smile["width_ratio"]
    en = (f"mouth corners {lift:+.3f} mouth widths above the lip centre (smile at >= {geometry.SMILE_LIFT:g}), "
          f"mouth width {width:.2f}x the neutral face's (smile at >= {geometry.SMILE_WIDTH:g}x)")
    zh = (f"嘴角比唇中心高 {lift:+.3f} 个嘴宽（≥ {geometry.SMILE_LIFT:g} 视为微笑），嘴宽为中性脸的 {width:.2f} 倍"
          f"（≥ {geometry.SMILE_WIDTH:g} 倍视为微笑）")
    return en, zh, {"corner_lift": round(lift, 3), "width_ratio": round(width, 3)}


def _smile(face: FaceMeasures, question: str) -> Statement:
    smiling = bool(face.smiling())
    en, zh, values = _smile_numbers(face)
    return Statement(smiling, f"Measured (geometric smile, not an emotion): "
                              f"{'smiling' if smiling else 'not smiling'}; {en}.",
                     f"测量结果（几何微笑，不是情绪判断）：{'在微笑' if smiling else '没有微笑'}；{zh}。", values,
                     f"corner lift >= {geometry.SMILE_LIFT:g} or width >= {geometry.SMILE_WIDTH:g}x neutral")


def _laugh(face: FaceMeasures, question: str) -> Statement:
    smiling, mouth_open = bool(face.smiling()), bool(face.mouth_open())
    en, zh, values = _smile_numbers(face)
    values["mar"] = round(face.mar, 3)
    laughing = smiling and mouth_open
    return Statement(
        laughing, f"Measured: {'laughing' if laughing else 'not laughing'} (a laugh = a geometric smile with the "
                  f"mouth open); {en}; MAR {face.mar:.2f} (open at >= {geometry.MAR_OPEN:g}).",
        f"测量结果：{'在大笑' if laughing else '没有大笑'}（大笑 = 几何微笑且张嘴）；{zh}；"
        f"MAR {face.mar:.2f}（≥ {geometry.MAR_OPEN:g} 视为张嘴）。",
        values, f"smile and MAR >= {geometry.MAR_OPEN:g}")


def _pose_words(yaw: float, pitch: float, roll: float) -> tuple[str, str]:
    parts_en, parts_zh = [], []
    if abs(yaw) >= geometry.FRONTAL_DEG:
        parts_en.append(f"turned towards the image's {'right' if yaw > 0 else 'left'} (the person's own "
                        f"{'left' if yaw > 0 else 'right'})")
        parts_zh.append(f"转向画面{'右' if yaw > 0 else '左'}侧（此人自己的{'左' if yaw > 0 else '右'}边）")
    if abs(pitch) >= geometry.FRONTAL_DEG:
        parts_en.append("raised (looking up)" if pitch > 0 else "lowered (looking down)")
        parts_zh.append("抬头" if pitch > 0 else "低头")
    if abs(roll) >= geometry.TILT_DEG:
        parts_en.append(f"tilted {'counter-clockwise' if roll > 0 else 'clockwise'} in the image")
        parts_zh.append(f"在画面中{'逆' if roll > 0 else '顺'}时针歪头")
    return (", ".join(parts_en) or "frontal, facing the camera"), ("，".join(parts_zh) or "正脸朝向镜头")


def _pose(face: FaceMeasures, question: str) -> Statement:
    yaw, pitch, roll = face.pose.yaw, face.pose.pitch, face.pose.roll
    words_en, words_zh = _pose_words(yaw, pitch, roll)
    frontal = abs(yaw) < geometry.FRONTAL_DEG and abs(pitch) < geometry.FRONTAL_DEG
    checks = (  # (question words, verdict)
        (("profile", "side", "侧脸", "侧面"), abs(yaw) >= 45),
        (("frontal", "facing the camera", "straight", "正脸", "正面", "正对"), frontal),
        (("tilt", "歪"), abs(roll) >= geometry.TILT_DEG),
        (("up", "raise", "抬"), pitch >= geometry.FRONTAL_DEG),
        (("down", "lower", "低"), pitch <= -geometry.FRONTAL_DEG),
        (("turn", "转"), abs(yaw) >= geometry.FRONTAL_DEG),
    )
    verdict = next((v for words, v in checks if any(w in question for w in words)), None)
    numbers = f"yaw {yaw:+.1f}°, pitch {pitch:+.1f}°, roll {roll:+.1f}°"
    rule = (f"frontal within {geometry.FRONTAL_DEG:g}° of yaw and pitch, tilted beyond {geometry.TILT_DEG:g}° of "
            f"roll, profile beyond 45° of yaw")
    return Statement(
        verdict, f"Measured head pose: {words_en}; {numbers} (yaw + = nose towards the image's right, pitch + = up, "
                 f"roll + = counter-clockwise), from a rigid fit to MediaPipe's canonical face; {rule}.",
        f"测量的头部姿态：{words_zh}；偏航 {yaw:+.1f}°、俯仰 {pitch:+.1f}°、翻滚 {roll:+.1f}°"
        f"（偏航正值 = 鼻尖朝画面右侧，"
        f"俯仰正值 = 抬头，翻滚正值 = 逆时针），由与 MediaPipe 标准人脸模型的刚性对齐得到；偏航和俯仰在 "
        f"{geometry.FRONTAL_DEG:g}° 内视为正脸，翻滚超过 {geometry.TILT_DEG:g}° 视为歪头，偏航超过 45° 视为侧脸。",
        {"yaw": round(yaw, 1), "pitch": round(pitch, 1), "roll": round(roll, 1)}, rule)


def _gaze(face: FaceMeasures, question: str) -> Statement:
    if "mean" not in face.gaze:
        return _unmeasured("gaze", face)
    h, v = face.gaze["mean"]
    horizontal, vertical = face.gaze_direction()
    frontal = abs(face.pose.yaw) < geometry.FRONTAL_DEG and abs(face.pose.pitch) < geometry.FRONTAL_DEG
    at_camera = frontal and (horizontal, vertical) == ("centre", "centre")
    words = {"centre": ("centred", "居中"), "left": ("towards the image's left", "偏向画面左侧"),
             "right": ("towards the image's right", "偏向画面右侧"), "up": ("up", "偏上"), "down": ("down", "偏下")}
    iris_en = f"irises {words[horizontal][0]}" + ("" if vertical == "centre" else f" and {words[vertical][0]}")
    iris_zh = f"虹膜{words[horizontal][1]}" + ("" if vertical == "centre" else f"、{words[vertical][1]}")
    pose_en, pose_zh = _pose_words(face.pose.yaw, face.pose.pitch, face.pose.roll)
    asks_camera = any(w in question for w in ("camera", "viewer", "at me", "镜头", "我", "观众"))
    verdict = at_camera if asks_camera else None
    rule = (f"irises centred within {geometry.GAZE_SIDE:g} (sideways) / {geometry.GAZE_VERTICAL:g} (vertical) eye "
            f"widths and a frontal head count as looking at the camera")
    return Statement(
        verdict, f"Measured: {'looking at the camera' if at_camera else 'not looking at the camera'}; {iris_en} "
                 f"(offset {h:+.3f}, {v:+.3f} eye widths in the head frame), head {pose_en}; {rule}. Iris "
                 f"landmarks do not tell where a person looks, only a coarse direction (MediaPipe Iris).",
        f"测量结果：{'看着镜头' if at_camera else '没有看镜头'}；{iris_zh}"
        f"（头部坐标系中偏移 {h:+.3f}、{v:+.3f} 个眼宽），头部{pose_zh}；"
        f"虹膜偏移在 {geometry.GAZE_SIDE:g}（水平）/ {geometry.GAZE_VERTICAL:g}（垂直）个眼宽内且正脸时视为看镜头。"
        f"虹膜关键点只给出粗略方向，不能确定注视点（MediaPipe Iris）。",
        {"gaze_horizontal": round(h, 3), "gaze_vertical": round(v, 3), "yaw": round(face.pose.yaw, 1),
         "pitch": round(face.pose.pitch, 1)}, rule)


def _size(face: FaceMeasures, size: tuple[int, int]) -> Statement:
    x0, y0, x1, y1 = face.box
    fraction = (x1 - x0) * (y1 - y0) / max(1, size[0] * size[1])
    cx, cy = (x0 + x1) / 2 / size[0], (y0 + y1) / 2 / size[1]
    return Statement(None, f"Face #{face.index} box: x {x0}-{x1}, y {y0}-{y1} px ({x1 - x0}x{y1 - y0} px, "
                           f"{fraction:.1%} of the image), centred at {cx:.0%} across and {cy:.0%} down.",
                     f"第 {face.index} 张脸的框：x {x0}-{x1}，y {y0}-{y1} 像素"
                     f"（{x1 - x0}x{y1 - y0} 像素，占图像 {fraction:.1%}），"
                     f"中心位于横向 {cx:.0%}、纵向 {cy:.0%} 处。", {"box_fraction": round(fraction, 4)}, "")


def _proportions(face: FaceMeasures, question: str) -> Statement:
    p = face.proportions
    return Statement(
        None, f"Measured in the head frame: face height/width {p['height_over_width']:.2f} (forehead to chin over "
              f"cheek to cheek), inner-eye gap/width {p['inner_eye_gap_over_width']:.2f}, mouth/width "
              f"{p['mouth_over_width']:.2f}. Face-shape names (oval, round...) are left to the VLMs.",
        f"在头部坐标系中测量：脸高/脸宽 {p['height_over_width']:.2f}（额头到下巴 / 两颊之间），内眼角间距/脸宽 "
        f"{p['inner_eye_gap_over_width']:.2f}，嘴宽/脸宽 {p['mouth_over_width']:.2f}。"
        f"脸型名称（鹅蛋脸、圆脸等）由视觉语言模型回答。",
        {k: round(v, 3) for k, v in p.items()}, "")
