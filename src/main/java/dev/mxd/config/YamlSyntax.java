package dev.mxd.config;

import com.fasterxml.jackson.core.JsonLocation;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.nio.file.Path;
import java.util.Locale;
import org.yaml.snakeyaml.error.Mark;
import org.yaml.snakeyaml.error.MarkedYAMLException;

/**
 * A YAML syntax error said the way an operator fixing the file needs it: the line and column of
 * the mistake (the YAML scanner's own mark, not the position the mapper had reached) and a plain
 * sentence about what is wrong there, instead of the parser's dump of tokens and context.
 */
final class YamlSyntax {

    private YamlSyntax() {}

    static ConfigException describe(Path file, JsonProcessingException e) {
        MarkedYAMLException marked = null;
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (c instanceof MarkedYAMLException m) {
                marked = m;
            }
        }
        if (marked == null || marked.getProblemMark() == null) {
            JsonLocation loc = e.getLocation();
            return new ConfigException(file, loc == null ? 0 : loc.getLineNr(), loc == null ? 0 : loc.getColumnNr(),
                    "the file is not valid YAML here", e);
        }
        String problem = String.valueOf(marked.getProblem());
        String context = String.valueOf(marked.getContext());
        Mark at = marked.getProblemMark();
        Mark opened = marked.getContextMark();
        boolean atEnd = problem.contains("<stream end>") || problem.contains("end of stream");
        String sentence;
        if (problem.startsWith("found character '\\t")) {
            sentence = "a tab character; YAML indents with spaces only, so replace the tab with spaces";
        } else if (problem.startsWith("found character '")) {
            String ch = problem.substring("found character '".length(), problem.indexOf('\'', "found character '".length()));
            sentence = "a value cannot start with '" + ch + "'; put the value in quotes";
        } else if (problem.startsWith("mapping values are not allowed")) {
            sentence = "a ':' that YAML cannot read here: quote a value that contains ': ', or indent this line"
                    + " like the keys above it";
        } else if (context.contains("flow sequence") && opened != null) {
            sentence = "the list opened with '[' on line " + (opened.getLine() + 1) + " is not closed with ']'"
                    + (atEnd ? "" : ", or a ',' is missing between its items");
            at = atEnd ? opened : at;
        } else if (context.contains("flow mapping") && opened != null) {
            sentence = "the mapping opened with '{' on line " + (opened.getLine() + 1) + " is not closed with '}'"
                    + (atEnd ? "" : ", or a ',' is missing between its entries");
            at = atEnd ? opened : at;
        } else if (context.contains("quoted scalar") && opened != null) {
            sentence = "the quoted value that starts on line " + (opened.getLine() + 1) + " has no closing quote";
            at = opened;
        } else if (problem.startsWith("expected <block end>") && problem.contains("<scalar>")) {
            sentence = "more text after a quoted value; quote the whole value, or put the rest on its own line";
        } else if (problem.startsWith("expected <block end>")) {
            sentence = "this line is indented differently from the lines above it at the same level;"
                    + " keys of one mapping and items of one list must line up";
        } else if (problem.contains("could not find expected ':'")) {
            sentence = "a key without ':' after it";
        } else if (problem.startsWith("expected the node content") && atEnd) {
            sentence = "the file ends where a value was expected: a '[' or '{' above is not closed, or a value is missing";
        } else if (problem.contains("found undefined alias")) {
            sentence = "an alias (*name) that no anchor (&name) above defines";
        } else {
            sentence = "the file is not valid YAML here: " + problem.toLowerCase(Locale.ROOT).replaceAll("\\s+", " ").strip();
        }
        return new ConfigException(file, at.getLine() + 1, at.getColumn() + 1, sentence, e);
    }
}
