// Score two example rows with a plec model through ONNX Runtime's Java API (ai.onnxruntime, Maven artifact
// com.microsoft.onnxruntime:onnxruntime:1.31.x).
//
//   java -cp onnxruntime-1.31.x.jar:. PlecPredict MODEL.onnx
//
// The feature signature is JSON in the model's metadata (key "plec.signature"). Row 0 gets a typical value per
// input (the first valid id, vocabulary word or boundary), row 1 every value missing (-1, "" or NaN).

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class PlecPredict {
  private PlecPredict() {}

  /** A small JSON reader: objects (as LinkedHashMap), arrays (List), strings, numbers (Double), booleans, null. */
  static final class Json {
    private final String s;
    private int pos;

    Json(String s) {
      this.s = s;
    }

    static Object parse(String text) {
      Json json = new Json(text);
      Object value = json.value();
      json.space();
      if (json.pos != text.length()) throw json.error("trailing characters");
      return value;
    }

    private IllegalArgumentException error(String what) {
      return new IllegalArgumentException("signature JSON: " + what + " at offset " + pos);
    }

    private void space() {
      while (pos < s.length() && Character.isWhitespace(s.charAt(pos))) pos++;
    }

    private Object value() {
      space();
      if (pos >= s.length()) throw error("unexpected end");
      char c = s.charAt(pos);
      if (c == '{') {
        Map<String, Object> map = new LinkedHashMap<>();
        pos++;
        space();
        if (s.charAt(pos) == '}') { pos++; return map; }
        while (true) {
          space();
          String key = string();
          space();
          if (s.charAt(pos++) != ':') throw error("expected ':'");
          map.put(key, value());
          space();
          char next = s.charAt(pos++);
          if (next == '}') return map;
          if (next != ',') throw error("expected ',' or '}'");
        }
      }
      if (c == '[') {
        List<Object> list = new ArrayList<>();
        pos++;
        space();
        if (s.charAt(pos) == ']') { pos++; return list; }
        while (true) {
          list.add(value());
          space();
          char next = s.charAt(pos++);
          if (next == ']') return list;
          if (next != ',') throw error("expected ',' or ']'");
        }
      }
      if (c == '"') return string();
      if (s.startsWith("true", pos)) { pos += 4; return Boolean.TRUE; }
      if (s.startsWith("false", pos)) { pos += 5; return Boolean.FALSE; }
      if (s.startsWith("null", pos)) { pos += 4; return null; }
      int start = pos;
      while (pos < s.length() && "+-0123456789.eE".indexOf(s.charAt(pos)) >= 0) pos++;
      if (start == pos) throw error("unexpected character");
      return Double.parseDouble(s.substring(start, pos));
    }

    private String string() {
      if (s.charAt(pos++) != '"') throw error("expected a string");
      StringBuilder out = new StringBuilder();
      while (pos < s.length() && s.charAt(pos) != '"') {
        char c = s.charAt(pos++);
        if (c != '\\') { out.append(c); continue; }
        char e = s.charAt(pos++);
        switch (e) {
          case 'n': out.append('\n'); break;
          case 't': out.append('\t'); break;
          case 'r': out.append('\r'); break;
          case 'b': out.append('\b'); break;
          case 'f': out.append('\f'); break;
          case 'u': out.append((char) Integer.parseInt(s.substring(pos, pos + 4), 16)); pos += 4; break;
          default: out.append(e);
        }
      }
      if (pos >= s.length()) throw error("unterminated string");
      pos++;
      return out.toString();
    }
  }

  @SuppressWarnings("unchecked")
  static Map<String, Object> object(Object value) {
    return (Map<String, Object>) value;
  }

  @SuppressWarnings("unchecked")
  static List<Object> list(Object value) {
    return (List<Object>) value;
  }

  /** Two rows for one input of the signature: typical values, then missing values. */
  static OnnxTensor exampleInput(OrtEnvironment env, Map<String, Object> spec) throws OrtException {
    String dtype = (String) spec.get("dtype");
    List<Object> shape = list(spec.get("shape"));
    int width = shape.size() > 1 ? (shape.get(1) instanceof Double ? ((Double) shape.get(1)).intValue() : 2) : 1;
    long[] dims = shape.size() > 1 ? new long[] {2, width} : new long[] {2};
    Map<String, Object> transform = spec.get("transform") instanceof Map ? object(spec.get("transform")) : Map.of();
    switch (dtype) {
      case "int64": {
        long typical = spec.get("valid_range") instanceof List
            ? ((Double) list(spec.get("valid_range")).get(0)).longValue() : 0L;
        long[] values = new long[2 * width];
        for (int i = 0; i < width; i++) { values[i] = typical; values[width + i] = -1L; }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(values), dims);
      }
      case "string": {
        String typical = "example";
        if (transform.get("vocab_list") instanceof List && !list(transform.get("vocab_list")).isEmpty()) {
          typical = (String) list(transform.get("vocab_list")).get(0);
        } else if (transform.get("vocab_dict") instanceof List && !list(transform.get("vocab_dict")).isEmpty()) {
          typical = (String) list(list(transform.get("vocab_dict")).get(0)).get(0);
        }
        String[] values = new String[2 * width];
        for (int i = 0; i < width; i++) { values[i] = typical; values[width + i] = ""; }
        return OnnxTensor.createTensor(env, values, dims);
      }
      default: {
        float typical = 0.5f;
        if (transform.get("boundaries") instanceof List && !list(transform.get("boundaries")).isEmpty()) {
          typical = ((Double) list(transform.get("boundaries")).get(0)).floatValue();
        }
        float[] values = new float[2 * width];
        for (int i = 0; i < width; i++) { values[i] = typical; values[width + i] = Float.NaN; }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(values), dims);
      }
    }
  }

  public static void main(String[] args) throws OrtException {
    if (args.length != 1) {
      System.err.println("usage: java PlecPredict MODEL.onnx");
      System.exit(2);
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    options.setIntraOpNumThreads(1);
    try (OrtSession session = env.createSession(args[0], options)) {
      String text = session.getMetadata().getCustomMetadata().get("plec.signature");
      if (text == null) throw new IllegalArgumentException(args[0] + ": no plec.signature metadata: not a plec model");
      Map<String, Object> signature = object(Json.parse(text));

      Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
      for (Object spec : list(signature.get("inputs"))) {
        Map<String, Object> input = object(spec);
        inputs.put((String) input.get("name"), exampleInput(env, input));
      }
      List<String> names = new ArrayList<>();
      for (Object output : list(signature.get("outputs"))) names.add((String) object(output).get("name"));

      try (OrtSession.Result result = session.run(inputs)) {
        for (int row = 0; row < 2; row++) {
          StringBuilder line = new StringBuilder("row " + row + ":");
          for (int k = 0; k < names.size(); k++) {
            OnnxValue value = result.get(names.get(k)).orElseThrow();
            OnnxTensor tensor = (OnnxTensor) value;
            long[] shape = tensor.getInfo().getShape();
            int width = shape.length > 1 ? (int) shape[1] : 1;
            FloatBuffer data = tensor.getFloatBuffer();
            line.append(k > 0 ? ", " : " ").append(names.get(k)).append('=');
            for (int i = 0; i < width; i++) line.append(i > 0 ? " " : "").append(data.get(row * width + i));
          }
          System.out.println(line);
        }
      } finally {
        for (OnnxTensor tensor : inputs.values()) tensor.close();
      }
    }
  }
}
