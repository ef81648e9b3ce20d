// Score two example rows with a plec model through ONNX Runtime's Java API (ai.onnxruntime, Maven artifact
// com.microsoft.onnxruntime:onnxruntime).
//
//   java -cp onnxruntime-1.29.0.jar:. PlecPredict MODEL.onnx [--threads N]
//
// The feature signature is JSON in the model's metadata (key "plec.signature"): one input per feature (int64 ids,
// strings or floats; shape [batch], [batch, len] for multi-valued ids padded with the missing value, or [batch, N]
// for wide dense values; a sequence feature is one string per row, its positions joined by the signature's
// delimiter) and the outputs. Row 0 gets a typical value per input (the first valid id, vocabulary word or
// boundary), row 1 every value missing (the signature's `missing`: -1 or "", and NaN for floats).

import ai.onnxruntime.OnnxTensor;
import ai.onnxruntime.OnnxValue;
import ai.onnxruntime.OrtEnvironment;
import ai.onnxruntime.OrtException;
import ai.onnxruntime.OrtSession;
import java.io.IOException;
import java.nio.FloatBuffer;
import java.nio.LongBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HexFormat;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

public final class PlecPredict {
  static final String SIGNATURE_KEY = "plec.signature";
  static final String GRAPH_KEY = "plec.graph_sha256";
  static final String EXTERNAL_KEY = "plec.external_data_sha256";
  static final String EXTERNAL_NAME_KEY = "plec.external_data";

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

  /** A loaded model: one session, created once and shared by every request (run is safe to call concurrently). */
  static final class Model implements AutoCloseable {
    final OrtSession session;
    final Map<String, Object> signature;
    final List<String> outputNames = new ArrayList<>();

    Model(OrtSession session, Map<String, Object> signature) {
      this.session = session;
      this.signature = signature;
      for (Object output : list(signature.get("outputs"))) outputNames.add((String) object(output).get("name"));
    }

    @Override
    public void close() throws OrtException {
      session.close();
    }
  }

  static Model load(OrtEnvironment env, String path, int threads) throws OrtException {
    OrtSession.SessionOptions options = new OrtSession.SessionOptions();
    if (threads > 0) options.setIntraOpNumThreads(threads);
    OrtSession session = env.createSession(path, options);
    String text = session.getMetadata().getCustomMetadata().get(SIGNATURE_KEY);
    if (text == null) {
      session.close();
      throw new IllegalArgumentException(path + ": no " + SIGNATURE_KEY + " metadata: not a plec model");
    }
    Map<String, String> metadata = session.getMetadata().getCustomMetadata();
    try {
      checkIntegrity(path, metadata);
    } catch (IOException | NoSuchAlgorithmException | IllegalStateException e) {
      session.close();
      throw new IllegalArgumentException(path + ": integrity check failed: " + e.getMessage(), e);
    }
    return new Model(session, object(Json.parse(text)));
  }

  /** The payload of ModelProto field 7 (the graph): a walk of the top-level protobuf fields. */
  static byte[] graphBytes(byte[] data) {
    int[] pos = {0};
    java.util.function.LongSupplier varint = () -> {
      long value = 0;
      for (int shift = 0; shift < 64; shift += 7) {
        if (pos[0] >= data.length) throw new IllegalStateException("truncated: not an intact ONNX model");
        int b = data[pos[0]++] & 0xff;
        value |= (long) (b & 0x7f) << shift;
        if (b < 0x80) return value;
      }
      throw new IllegalStateException("bad varint: not an ONNX model");
    };
    byte[] graph = null;
    while (pos[0] < data.length) {
      long tag = varint.getAsLong();
      int wire = (int) (tag & 7);
      long skip = wire == 0 ? 0 : wire == 1 ? 8 : wire == 5 ? 4 : wire == 2 ? varint.getAsLong() : -1;
      if (wire == 0) varint.getAsLong();
      if (skip < 0) throw new IllegalStateException("unexpected wire type: not an ONNX model");
      if (skip > data.length - pos[0]) throw new IllegalStateException("truncated: not an intact ONNX model");
      if (wire == 2 && (tag >>> 3) == 7) graph = Arrays.copyOfRange(data, pos[0], pos[0] + (int) skip);
      pos[0] += (int) skip;
    }
    if (graph == null) throw new IllegalStateException("no graph: not an ONNX model");
    return graph;
  }

  static String sha256(byte[] data) throws NoSuchAlgorithmException {
    return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(data));
  }

  /**
   * The check a service does once at start-up: the graph and its external data file have the sha256 that `plec
   * compile` recorded (plec.graph_sha256, plec.external_data_sha256), so no damaged copy of the model scores.
   */
  static void checkIntegrity(String path, Map<String, String> metadata) throws IOException, NoSuchAlgorithmException {
    if (!sha256(graphBytes(Files.readAllBytes(Path.of(path)))).equals(metadata.get(GRAPH_KEY))) {
      throw new IllegalStateException("the graph differs from " + GRAPH_KEY + ": the file is damaged; copy or compile it again");
    }
    String external = metadata.get(EXTERNAL_KEY);
    if (external != null) {
      Path data = Path.of(path).resolveSibling(metadata.getOrDefault(EXTERNAL_NAME_KEY, ""));
      if (!sha256(Files.readAllBytes(data)).equals(external)) {
        throw new IllegalStateException(data + " differs from " + EXTERNAL_KEY + ": the file is damaged; copy it again");
      }
    }
  }

  /** A typical raw value of type `dtype` for one input: the first valid id, vocabulary word or boundary. */
  static Object typicalValue(Map<String, Object> spec, String dtype) {
    Map<String, Object> transform = spec.get("transform") instanceof Map ? object(spec.get("transform")) : Map.of();
    switch (dtype) {
      case "int64":
        return spec.get("valid_range") instanceof List ? ((Double) list(spec.get("valid_range")).get(0)).longValue() : 0L;
      case "string":
        if (transform.get("vocab_list") instanceof List && !list(transform.get("vocab_list")).isEmpty()) {
          return list(transform.get("vocab_list")).get(0);
        }
        if (transform.get("vocab_dict") instanceof List && !list(transform.get("vocab_dict")).isEmpty()) {
          return list(list(transform.get("vocab_dict")).get(0)).get(0);
        }
        return "example";
      default:
        if (transform.get("boundaries") instanceof List && !list(transform.get("boundaries")).isEmpty()) {
          return ((Double) list(transform.get("boundaries")).get(0)).floatValue();
        }
        return 0.5f;
    }
  }

  /** The typical value of an input; for a sequence input, two typical positions joined by its delimiter. */
  static Object exampleValue(Map<String, Object> spec) {
    if (!(spec.get("sequence") instanceof Map)) return typicalValue(spec, (String) spec.get("dtype"));
    Map<String, Object> sequence = object(spec.get("sequence"));
    String element = String.valueOf(typicalValue(spec, (String) sequence.get("element")));
    return element + sequence.get("delimiter") + element;
  }

  /** Two rows for one input of the signature: typical values, then missing values. */
  static OnnxTensor exampleInput(OrtEnvironment env, Map<String, Object> spec) throws OrtException {
    List<Object> shape = list(spec.get("shape"));
    int width = shape.size() > 1 ? (shape.get(1) instanceof Double ? ((Double) shape.get(1)).intValue() : 2) : 1;
    long[] dims = shape.size() > 1 ? new long[] {2, width} : new long[] {2};
    Object typical = exampleValue(spec);
    switch ((String) spec.get("dtype")) {
      case "int64": {
        long[] values = new long[2 * width];
        long missing = ((Double) spec.get("missing")).longValue();
        for (int i = 0; i < width; i++) { values[i] = (Long) typical; values[width + i] = missing; }
        return OnnxTensor.createTensor(env, LongBuffer.wrap(values), dims);
      }
      case "string": {
        String[] values = new String[2 * width];
        for (int i = 0; i < width; i++) { values[i] = (String) typical; values[width + i] = (String) spec.get("missing"); }
        return OnnxTensor.createTensor(env, values, dims);
      }
      default: {
        float[] values = new float[2 * width];
        for (int i = 0; i < width; i++) { values[i] = (Float) typical; values[width + i] = Float.NaN; }
        return OnnxTensor.createTensor(env, FloatBuffer.wrap(values), dims);
      }
    }
  }

  public static void main(String[] args) throws OrtException {
    List<String> paths = new ArrayList<>();
    int threads = 0;
    for (int i = 0; i < args.length; i++) {
      if (args[i].equals("--threads") && i + 1 < args.length) threads = Integer.parseInt(args[++i]);
      else paths.add(args[i]);
    }
    if (paths.size() != 1) {
      System.err.println("usage: java PlecPredict MODEL.onnx [--threads N]");
      System.exit(2);
    }
    OrtEnvironment env = OrtEnvironment.getEnvironment();
    try (Model model = load(env, paths.get(0), threads)) {
      Map<String, OnnxTensor> inputs = new LinkedHashMap<>();
      try {
        for (Object spec : list(model.signature.get("inputs"))) {
          Map<String, Object> input = object(spec);
          inputs.put((String) input.get("name"), exampleInput(env, input));
        }
        try (OrtSession.Result result = model.session.run(inputs)) {
          printRows(model, result);
        }
      } finally {
        for (OnnxTensor tensor : inputs.values()) tensor.close();
      }
    }
  }

  /** One line per row: every output (float32), `name=value` or `name=[v0 v1 ...]`. */
  static void printRows(Model model, OrtSession.Result result) throws OrtException {
    List<OnnxTensor> tensors = new ArrayList<>();
    for (String name : model.outputNames) {
      OnnxValue value = result.get(name).orElseThrow(() -> new IllegalStateException("no output " + name));
      tensors.add((OnnxTensor) value);
    }
    long rows = tensors.get(0).getInfo().getShape()[0];
    for (int row = 0; row < rows; row++) {
      StringBuilder line = new StringBuilder("row " + row + ":");
      for (int k = 0; k < tensors.size(); k++) {
        long[] shape = tensors.get(k).getInfo().getShape();
        int width = shape.length > 1 ? (int) shape[1] : 1;
        FloatBuffer data = tensors.get(k).getFloatBuffer();
        line.append(k > 0 ? ", " : " ").append(model.outputNames.get(k)).append('=').append(width > 1 ? "[" : "");
        for (int i = 0; i < width; i++) line.append(i > 0 ? " " : "").append(data.get(row * width + i));
        line.append(width > 1 ? "]" : "");
      }
      System.out.println(line);
    }
  }
}
