"""Network parts, one concept per file: backbones, FPN, matching, RPN, proposals, ROIAlign, heads, detection."""

__all__: list[str] = []
