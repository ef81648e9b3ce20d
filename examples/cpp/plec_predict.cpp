// Score rows with a plec model through ONNX Runtime's C++ API (onnxruntime_cxx_api.h); no plec code needed.
//
//   plec_predict MODEL.onnx [INPUTS.json] [--json] [--threads N]
//
// The model carries its feature signature as JSON in its metadata (key "plec.signature"): one input per feature
// (int64 ids, strings or floats; shape [batch], [batch, len] for multi-valued ids padded with the missing value, or
// [batch, N] for wide dense values; a sequence feature is one string per row, its positions joined by the
// signature's delimiter) and the outputs. Raw values go in; the graph hashes, bucketizes and looks up.
//
// INPUTS.json holds {"inputs": {NAME: {"shape": [...], "values": [...]}}} with values row-major; null stands for a
// missing float (NaN). Without it, two example rows are built from the signature: typical values, then all missing.
// Outputs are printed per row, or with --json as {"outputs": {NAME: {"shape": [...], "values": [...]}}} (NaN as
// null; float32 values printed with enough digits to read back exactly).

#include <onnxruntime_cxx_api.h>
#include <openssl/evp.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <limits>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

const char* const kSignatureKey = "plec.signature";
const char* const kGraphKey = "plec.graph_sha256";
const char* const kExternalKey = "plec.external_data_sha256";
const char* const kExternalNameKey = "plec.external_data";

// ---- A small JSON reader: enough for the signature and the inputs file. ----

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  std::string text;  // a string's value, or a number's literal (int64 ids are read from it exactly)
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;

  const Json* find(const std::string& key) const {
    for (const auto& field : fields)
      if (field.first == key) return &field.second;
    return nullptr;
  }
  const Json& at(const std::string& key) const {
    const Json* value = find(key);
    if (!value) throw std::runtime_error("JSON: no field \"" + key + "\"");
    return *value;
  }
  bool is_null() const { return kind == Null; }
  int64_t as_int64() const { return std::stoll(text); }
  double as_double() const { return std::stod(text); }
};

class JsonParser {
 public:
  JsonParser(const std::string& s, std::string what) : s_(s), what_(std::move(what)) {}

  Json parse() {
    Json value = parse_value();
    skip_space();
    if (pos_ != s_.size()) fail("trailing characters");
    return value;
  }

 private:
  [[noreturn]] void fail(const char* problem) const {
    throw std::runtime_error(what_ + ": " + problem + " at offset " + std::to_string(pos_));
  }
  char peek() {
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end");
    return s_[pos_];
  }
  void expect(char c) {
    if (peek() != c) fail("unexpected character");
    ++pos_;
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(const std::string& word) {
    if (s_.compare(pos_, word.size(), word) != 0) return false;
    pos_ += word.size();
    return true;
  }
  Json parse_value() {
    Json value;
    char c = peek();
    if (c == '{') {
      value.kind = Json::Object;
      ++pos_;
      if (peek() == '}') return ++pos_, value;
      for (;;) {
        std::string key = parse_string();
        expect(':');
        value.fields.emplace_back(std::move(key), parse_value());
        if (peek() == '}') return ++pos_, value;
        expect(',');
      }
    }
    if (c == '[') {
      value.kind = Json::Array;
      ++pos_;
      if (peek() == ']') return ++pos_, value;
      for (;;) {
        value.items.push_back(parse_value());
        if (peek() == ']') return ++pos_, value;
        expect(',');
      }
    }
    if (c == '"') {
      value.kind = Json::String;
      value.text = parse_string();
      return value;
    }
    if (consume("true")) {
      value.kind = Json::Bool;
      value.boolean = true;
      return value;
    }
    if (consume("false")) return value.kind = Json::Bool, value;
    if (consume("null")) return value;
    size_t start = pos_;
    while (pos_ < s_.size() && std::string("+-0123456789.eE").find(s_[pos_]) != std::string::npos) ++pos_;
    if (start == pos_) fail("unexpected character");
    value.kind = Json::Number;
    value.text = s_.substr(start, pos_ - start);
    return value;
  }
  void append_utf8(std::string& out, unsigned code) {
    if (code < 0x80) {
      out += static_cast<char>(code);
    } else if (code < 0x800) {
      out += static_cast<char>(0xC0 | (code >> 6));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else if (code < 0x10000) {
      out += static_cast<char>(0xE0 | (code >> 12));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    } else {
      out += static_cast<char>(0xF0 | (code >> 18));
      out += static_cast<char>(0x80 | ((code >> 12) & 0x3F));
      out += static_cast<char>(0x80 | ((code >> 6) & 0x3F));
      out += static_cast<char>(0x80 | (code & 0x3F));
    }
  }
  unsigned parse_hex4() {
    if (pos_ + 4 > s_.size()) fail("short \\u escape");
    unsigned code = static_cast<unsigned>(std::stoul(s_.substr(pos_, 4), nullptr, 16));
    pos_ += 4;
    return code;
  }
  std::string parse_string() {
    if (peek() != '"') fail("expected a string");
    ++pos_;
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (pos_ >= s_.size()) break;
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          unsigned code = parse_hex4();
          if (code >= 0xD800 && code < 0xDC00 && consume("\\u")) {  // a surrogate pair
            code = 0x10000 + ((code - 0xD800) << 10) + (parse_hex4() - 0xDC00);
          }
          append_utf8(out, code);
          break;
        }
        default: out += e;  // \" \\ \/
      }
    }
    if (pos_ >= s_.size()) fail("unterminated string");
    ++pos_;
    return out;
  }

  const std::string& s_;
  std::string what_;
  size_t pos_ = 0;
};

std::string read_file(const std::string& path) {
  std::ifstream file(path, std::ios::binary);
  if (!file) throw std::runtime_error(path + ": cannot open");
  std::ostringstream text;
  text << file.rdbuf();
  return text.str();
}

// ---- The model: one session, created once and reused for every request (Run is safe to call concurrently). ----

struct Model {
  Ort::Session session{nullptr};
  Json signature;  // {"inputs": [...], "outputs": [...]}
  std::vector<std::string> output_names;
};

// ---- Integrity: the check a service does once at start-up (see docs/integrity.md in the plec repository). ----

std::string sha256_hex(const std::string& data) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  if (EVP_Digest(data.data(), data.size(), digest, &length, EVP_sha256(), nullptr) != 1) {
    throw std::runtime_error("sha256 failed");
  }
  std::string hex;
  for (unsigned int i = 0; i < length; ++i) {
    char pair[3];
    std::snprintf(pair, sizeof pair, "%02x", digest[i]);
    hex += pair;
  }
  return hex;
}

// The payload of ModelProto field 7 (the graph): a walk of the top-level protobuf fields.
std::string graph_bytes(const std::string& data, const std::string& path) {
  size_t pos = 0;
  auto varint = [&]() {
    uint64_t value = 0;
    for (int shift = 0; shift < 64; shift += 7) {
      if (pos >= data.size()) throw std::runtime_error(path + ": truncated: not an intact ONNX model");
      const auto byte = static_cast<unsigned char>(data[pos++]);
      value |= static_cast<uint64_t>(byte & 0x7f) << shift;
      if (byte < 0x80) return value;
    }
    throw std::runtime_error(path + ": bad varint: not an ONNX model");
  };
  std::string graph;
  bool found = false;
  while (pos < data.size()) {
    const uint64_t tag = varint();
    const uint64_t wire = tag & 7;
    uint64_t skip = 0;
    if (wire == 0) varint();
    else if (wire == 1) skip = 8;
    else if (wire == 5) skip = 4;
    else if (wire == 2) skip = varint();
    else throw std::runtime_error(path + ": unexpected wire type: not an ONNX model");
    if (skip > data.size() - pos) throw std::runtime_error(path + ": truncated: not an intact ONNX model");
    if (wire == 2 && (tag >> 3) == 7) {
      graph = data.substr(pos, skip);
      found = true;
    }
    pos += skip;
  }
  if (!found) throw std::runtime_error(path + ": no graph: not an ONNX model");
  return graph;
}

// The graph and the external data file have the sha256 `plec compile` recorded, so no damaged copy scores.
void check_integrity(const std::string& path, Ort::ModelMetadata& metadata) {
  Ort::AllocatorWithDefaultOptions allocator;
  auto lookup = [&](const char* key) {
    Ort::AllocatedStringPtr value = metadata.LookupCustomMetadataMapAllocated(key, allocator);
    return value ? std::string(value.get()) : std::string();
  };
  if (sha256_hex(graph_bytes(read_file(path), path)) != lookup(kGraphKey)) {
    throw std::runtime_error(path + ": the graph differs from " + kGraphKey +
                             ": the file is damaged; copy or compile it again");
  }
  const std::string external = lookup(kExternalKey);
  if (!external.empty()) {
    const size_t slash = path.find_last_of('/');
    const std::string folder = slash == std::string::npos ? "" : path.substr(0, slash + 1);
    const std::string data_path = folder + lookup(kExternalNameKey);
    if (sha256_hex(read_file(data_path)) != external) {
      throw std::runtime_error(data_path + ": differs from " + kExternalKey + ": the file is damaged; copy it again");
    }
  }
}

Model load_model(const Ort::Env& env, const std::string& path, int threads) {
  Ort::SessionOptions options;
  if (threads > 0) options.SetIntraOpNumThreads(threads);
  Model model;
  model.session = Ort::Session(env, path.c_str(), options);

  Ort::AllocatorWithDefaultOptions allocator;
  Ort::ModelMetadata metadata = model.session.GetModelMetadata();
  Ort::AllocatedStringPtr text = metadata.LookupCustomMetadataMapAllocated(kSignatureKey, allocator);
  if (!text) throw std::runtime_error(path + ": no " + kSignatureKey + " metadata: not a plec model");
  check_integrity(path, metadata);
  model.signature = JsonParser(text.get(), path + ": " + kSignatureKey).parse();
  for (const Json& output : model.signature.at("outputs").items) model.output_names.push_back(output.at("name").text);
  return model;
}

// ---- Inputs: raw values per signature input, from a file or built as two example rows. ----

struct Input {
  std::string name;
  std::string dtype;           // "int64", "string" or "float"
  std::vector<int64_t> shape;  // [rows] or [rows, width]
  std::vector<int64_t> ids;
  std::vector<float> floats;
  std::vector<std::string> strings;
};

// A typical raw value of type `dtype` for one input (the first valid id, vocabulary word or boundary), as text.
std::string typical_value(const Json& spec, const std::string& dtype) {
  const Json* transform = spec.find("transform");
  if (dtype == "int64") {
    const Json* range = spec.find("valid_range");
    return range && !range->is_null() ? range->items.at(0).text : "0";
  }
  if (dtype == "string") {
    if (transform && !transform->is_null()) {
      const Json* list = transform->find("vocab_list");
      if (list && !list->items.empty()) return list->items[0].text;
      const Json* dict = transform->find("vocab_dict");
      if (dict && !dict->items.empty()) return dict->items[0].items.at(0).text;
    }
    return "example";
  }
  if (transform && !transform->is_null()) {
    const Json* boundaries = transform->find("boundaries");
    if (boundaries && !boundaries->items.empty()) return boundaries->items[0].text;
  }
  return "0.5";
}

// The typical value of an input; for a sequence input, two positions of typical values joined by its delimiter.
std::string example_value(const Json& spec) {
  const Json* sequence = spec.find("sequence");
  if (!sequence || sequence->is_null()) return typical_value(spec, spec.at("dtype").text);
  std::string element = typical_value(spec, sequence->at("element").text);
  return element + sequence->at("delimiter").text + element;
}

// Appends one value given as JSON (an id, a string, a float or null for NaN) to `input`.
void push_value(Input& input, const Json& value) {
  if (input.dtype == "int64") {
    input.ids.push_back(value.as_int64());
  } else if (input.dtype == "string") {
    input.strings.push_back(value.text);
  } else {
    input.floats.push_back(value.is_null() ? std::numeric_limits<float>::quiet_NaN() : std::strtof(value.text.c_str(), nullptr));
  }
}

// Two rows: typical values, then every value missing.
std::vector<Input> example_inputs(const Json& signature) {
  std::vector<Input> inputs;
  for (const Json& spec : signature.at("inputs").items) {
    Input input{spec.at("name").text, spec.at("dtype").text, {}, {}, {}, {}};
    const std::vector<Json>& dims = spec.at("shape").items;
    int64_t width = dims.size() < 2 ? 1 : dims[1].kind == Json::Number ? dims[1].as_int64() : 2;
    input.shape = dims.size() < 2 ? std::vector<int64_t>{2} : std::vector<int64_t>{2, width};
    Json typical;
    typical.kind = input.dtype == "string" ? Json::String : Json::Number;
    typical.text = example_value(spec);
    Json missing = input.dtype == "float" ? Json{} : spec.at("missing");
    for (int64_t i = 0; i < width; ++i) push_value(input, typical);
    for (int64_t i = 0; i < width; ++i) push_value(input, missing);
    inputs.push_back(std::move(input));
  }
  return inputs;
}

std::vector<Input> file_inputs(const Json& signature, const std::string& path) {
  Json file = JsonParser(read_file(path), path).parse();
  const Json& given = file.at("inputs");
  std::vector<Input> inputs;
  for (const Json& spec : signature.at("inputs").items) {
    Input input{spec.at("name").text, spec.at("dtype").text, {}, {}, {}, {}};
    const Json* tensor = given.find(input.name);
    if (!tensor) throw std::runtime_error(path + ": no input \"" + input.name + "\"");
    for (const Json& dim : tensor->at("shape").items) input.shape.push_back(dim.as_int64());
    for (const Json& value : tensor->at("values").items) push_value(input, value);
    inputs.push_back(std::move(input));
  }
  return inputs;
}

// ---- Running: tensors over the inputs' buffers (strings are copied into ONNX Runtime's own). ----

std::vector<Ort::Value> run(Model& model, std::vector<Input>& inputs) {
  Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
  Ort::AllocatorWithDefaultOptions allocator;
  std::vector<Ort::Value> values;
  std::vector<const char*> input_names;
  for (Input& input : inputs) {
    input_names.push_back(input.name.c_str());
    const int64_t* shape = input.shape.data();
    size_t rank = input.shape.size();
    if (input.dtype == "int64") {
      values.push_back(Ort::Value::CreateTensor<int64_t>(memory, input.ids.data(), input.ids.size(), shape, rank));
    } else if (input.dtype == "float") {
      values.push_back(Ort::Value::CreateTensor<float>(memory, input.floats.data(), input.floats.size(), shape, rank));
    } else {
      Ort::Value tensor = Ort::Value::CreateTensor(allocator, shape, rank, ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
      std::vector<const char*> cstrings;
      for (const std::string& s : input.strings) cstrings.push_back(s.c_str());
      tensor.FillStringTensor(cstrings.data(), cstrings.size());
      values.push_back(std::move(tensor));
    }
  }
  std::vector<const char*> output_names;
  for (const std::string& name : model.output_names) output_names.push_back(name.c_str());
  return model.session.Run(Ort::RunOptions{nullptr}, input_names.data(), values.data(), values.size(),
                           output_names.data(), output_names.size());
}

// ---- Printing. ----

// plec's outputs are float32 (probabilities, logits, regression values).
const float* float_data(const Ort::Value& tensor) {
  if (tensor.GetTensorTypeAndShapeInfo().GetElementType() != ONNX_TENSOR_ELEMENT_DATA_TYPE_FLOAT)
    throw std::runtime_error("an output is not float32: not a plec model");
  return tensor.GetTensorData<float>();
}

void print_json(const Model& model, const std::vector<Ort::Value>& results) {
  std::printf("{\"outputs\": {");
  for (size_t k = 0; k < results.size(); ++k) {
    Ort::TensorTypeAndShapeInfo info = results[k].GetTensorTypeAndShapeInfo();
    std::printf("%s\"%s\": {\"shape\": [", k ? ", " : "", model.output_names[k].c_str());
    std::vector<int64_t> shape = info.GetShape();
    for (size_t d = 0; d < shape.size(); ++d) std::printf("%s%lld", d ? ", " : "", static_cast<long long>(shape[d]));
    std::printf("], \"values\": [");
    const float* data = float_data(results[k]);
    for (size_t i = 0; i < info.GetElementCount(); ++i) {
      if (std::isnan(data[i])) std::printf("%snull", i ? ", " : "");
      else std::printf("%s%.*g", i ? ", " : "", std::numeric_limits<float>::max_digits10, static_cast<double>(data[i]));
    }
    std::printf("]}");
  }
  std::printf("}}\n");
}

void print_rows(const Model& model, const std::vector<Ort::Value>& results) {
  int64_t rows = results.at(0).GetTensorTypeAndShapeInfo().GetShape().at(0);
  for (int64_t row = 0; row < rows; ++row) {
    std::printf("row %lld:", static_cast<long long>(row));
    for (size_t k = 0; k < results.size(); ++k) {
      std::vector<int64_t> shape = results[k].GetTensorTypeAndShapeInfo().GetShape();
      int64_t width = shape.size() > 1 ? shape[1] : 1;
      const float* data = float_data(results[k]) + row * width;
      std::printf("%s %s=%s", k ? "," : "", model.output_names[k].c_str(), width > 1 ? "[" : "");
      for (int64_t i = 0; i < width; ++i) {
        if (std::isnan(data[i])) std::printf("%snan", i ? " " : "");  // not "-nan"
        else std::printf(i ? " %.6g" : "%.6g", static_cast<double>(data[i]));
      }
      std::printf("%s", width > 1 ? "]" : "");
    }
    std::printf("\n");
  }
}

}  // namespace

int main(int argc, char** argv) {
  std::vector<std::string> paths;
  bool as_json = false;
  int threads = 0;
  for (int i = 1; i < argc; ++i) {
    std::string arg = argv[i];
    if (arg == "--json") as_json = true;
    else if (arg == "--threads" && i + 1 < argc) threads = std::atoi(argv[++i]);
    else paths.push_back(arg);
  }
  if (paths.empty() || paths.size() > 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx [INPUTS.json] [--json] [--threads N]\n", argv[0]);
    return 2;
  }
  try {
    Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "plec");
    Model model = load_model(env, paths[0], threads);
    std::vector<Input> inputs = paths.size() == 2 ? file_inputs(model.signature, paths[1]) : example_inputs(model.signature);
    std::vector<Ort::Value> results = run(model, inputs);
    if (as_json) print_json(model, results);
    else print_rows(model, results);
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
