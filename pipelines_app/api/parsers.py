from rest_framework.parsers import BaseParser


class PipelineFileParser(BaseParser):
    """A pipeline file sent as the body itself (application/yaml or text/yaml) → {"yaml": text}."""

    media_type = "application/yaml"

    def parse(self, stream, media_type=None, parser_context=None):
        from rest_framework.exceptions import ParseError

        raw = stream.read() if stream is not None else b""
        try:
            return {"yaml": raw.decode("utf-8-sig")}
        except UnicodeDecodeError:
            raise ParseError("The pipeline file must be UTF-8 text.") from None


class TextYAMLParser(PipelineFileParser):
    media_type = "text/yaml"


class XYAMLParser(PipelineFileParser):
    media_type = "application/x-yaml"


class PlainTextParser(PipelineFileParser):
    media_type = "text/plain"
