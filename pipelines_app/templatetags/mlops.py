from django import template

register = template.Library()


@register.filter
def get_item(mapping, key):
    """{{ metrics|get_item:name }}: a dict value by a variable key."""
    if isinstance(mapping, dict):
        return mapping.get(key)
    return None


@register.inclusion_tag("core/partials/sparkline.html")
def sparkline(counts, label="Requests per hour", width=120, height=28):
    """{% sparkline row.hourly_requests %}: counts drawn as an inline SVG line from zero to their maximum, oldest
    on the left; the label and the figures are text for screen readers and the tooltip."""
    counts = list(counts or [])
    top = max(counts, default=0)
    step = width / (len(counts) - 1) if len(counts) > 1 else 0
    pad = 2  # keeps the stroke inside the box at the top and bottom
    points = " ".join(
        f"{i * step:.1f},{height - pad - (value / top * (height - 2 * pad) if top else 0):.1f}"
        for i, value in enumerate(counts)
    )
    return {
        "points": points,
        "width": width,
        "height": height,
        "total": sum(counts),
        "peak": top,
        "hours": len(counts),
        "label": label,
    }
