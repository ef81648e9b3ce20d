// Score two example rows with a plec model through ONNX Runtime's C++ API (onnxruntime_cxx_api.h).
//
//   plec_predict MODEL.onnx
//
// The feature signature is JSON in the model's metadata (key "plec.signature"): one input per feature, int64 ids,
// strings or floats, shape [batch], [batch, len] (multi-valued ids, padded with the missing value) or [batch, N].
// Row 0 gets a typical value per input (the first valid id, vocabulary word or boundary), row 1 every value missing
// (-1, "" or NaN). The graph does the feature transforms itself.

#include <onnxruntime_cxx_api.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <map>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

// ---- A small JSON reader: enough for the signature (objects, arrays, strings, numbers, true/false/null). ----

struct Json {
  enum Kind { Null, Bool, Number, String, Array, Object } kind = Null;
  bool boolean = false;
  double number = 0;
  std::string text;
  std::vector<Json> items;
  std::vector<std::pair<std::string, Json>> fields;

  const Json* get(const std::string& key) const {
    for (const auto& field : fields)
      if (field.first == key) return &field.second;
    return nullptr;
  }
};

class JsonParser {
 public:
  explicit JsonParser(const std::string& s) : s_(s) {}

  Json parse() {
    Json value = parse_value();
    skip_space();
    if (pos_ != s_.size()) fail("trailing characters");
    return value;
  }

 private:
  [[noreturn]] void fail(const char* what) const {
    throw std::runtime_error(std::string("signature JSON: ") + what + " at offset " + std::to_string(pos_));
  }
  void skip_space() {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\n' || s_[pos_] == '\t' || s_[pos_] == '\r')) ++pos_;
  }
  bool consume(const char* word) {
    std::string w(word);
    if (s_.compare(pos_, w.size(), w) == 0) {
      pos_ += w.size();
      return true;
    }
    return false;
  }
  Json parse_value() {
    skip_space();
    if (pos_ >= s_.size()) fail("unexpected end");
    Json value;
    char c = s_[pos_];
    if (c == '{') {
      value.kind = Json::Object;
      ++pos_;
      skip_space();
      if (s_[pos_] == '}') { ++pos_; return value; }
      for (;;) {
        skip_space();
        std::string key = parse_string();
        skip_space();
        if (s_[pos_++] != ':') fail("expected ':'");
        value.fields.emplace_back(key, parse_value());
        skip_space();
        if (s_[pos_] == ',') { ++pos_; continue; }
        if (s_[pos_] == '}') { ++pos_; return value; }
        fail("expected ',' or '}'");
      }
    }
    if (c == '[') {
      value.kind = Json::Array;
      ++pos_;
      skip_space();
      if (s_[pos_] == ']') { ++pos_; return value; }
      for (;;) {
        value.items.push_back(parse_value());
        skip_space();
        if (s_[pos_] == ',') { ++pos_; continue; }
        if (s_[pos_] == ']') { ++pos_; return value; }
        fail("expected ',' or ']'");
      }
    }
    if (c == '"') {
      value.kind = Json::String;
      value.text = parse_string();
      return value;
    }
    if (consume("true")) { value.kind = Json::Bool; value.boolean = true; return value; }
    if (consume("false")) { value.kind = Json::Bool; return value; }
    if (consume("null")) return value;
    size_t used = 0;
    value.kind = Json::Number;
    value.number = std::stod(s_.substr(pos_), &used);
    pos_ += used;
    return value;
  }
  std::string parse_string() {
    if (s_[pos_++] != '"') fail("expected a string");
    std::string out;
    while (pos_ < s_.size() && s_[pos_] != '"') {
      char c = s_[pos_++];
      if (c != '\\') { out += c; continue; }
      char e = s_[pos_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          unsigned code = std::stoul(s_.substr(pos_, 4), nullptr, 16);
          pos_ += 4;
          // Basic Multilingual Plane only, as UTF-8 (signatures hold ASCII names and separators like \u001d).
          if (code < 0x80) out += static_cast<char>(code);
          else if (code < 0x800) { out += static_cast<char>(0xC0 | (code >> 6)); out += static_cast<char>(0x80 | (code & 0x3F)); }
          else { out += static_cast<char>(0xE0 | (code >> 12)); out += static_cast<char>(0x80 | ((code >> 6) & 0x3F)); out += static_cast<char>(0x80 | (code & 0x3F)); }
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
  size_t pos_ = 0;
};

// ---- Inputs from the signature. ----

struct Input {
  std::string name;
  std::string dtype;               // "int64", "string" or "float"
  std::vector<int64_t> shape;      // [2] or [2, width]
  std::vector<int64_t> ids;
  std::vector<float> floats;
  std::vector<std::string> strings;
};

Input example_input(const Json& spec) {
  Input input;
  input.name = spec.get("name")->text;
  input.dtype = spec.get("dtype")->text;
  const Json& shape = *spec.get("shape");
  int64_t width = 1;
  if (shape.items.size() > 1) width = shape.items[1].kind == Json::Number ? static_cast<int64_t>(shape.items[1].number) : 2;
  input.shape = shape.items.size() > 1 ? std::vector<int64_t>{2, width} : std::vector<int64_t>{2};
  const Json* transform = spec.get("transform");
  const Json* range = spec.get("valid_range");
  for (int64_t row = 0; row < 2; ++row) {
    for (int64_t i = 0; i < width; ++i) {
      bool missing = row == 1;
      if (input.dtype == "int64") {
        int64_t typical = range && range->kind == Json::Array ? static_cast<int64_t>(range->items[0].number) : 0;
        input.ids.push_back(missing ? -1 : typical);
      } else if (input.dtype == "string") {
        std::string typical = "example";
        if (transform && transform->kind == Json::Object) {
          if (const Json* list = transform->get("vocab_list"); list && !list->items.empty()) typical = list->items[0].text;
          if (const Json* dict = transform->get("vocab_dict"); dict && !dict->items.empty()) typical = dict->items[0].items[0].text;
        }
        input.strings.push_back(missing ? "" : typical);
      } else {
        float typical = 0.5f;
        if (transform && transform->kind == Json::Object) {
          if (const Json* b = transform->get("boundaries"); b && !b->items.empty()) typical = static_cast<float>(b->items[0].number);
        }
        input.floats.push_back(missing ? NAN : typical);
      }
    }
  }
  return input;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::fprintf(stderr, "usage: %s MODEL.onnx\n", argv[0]);
    return 2;
  }
  try {
    Ort::Env env(ORT_LOGGING_LEVEL_WARNING, "plec");
    Ort::SessionOptions options;
    options.SetIntraOpNumThreads(1);
    Ort::Session session(env, argv[1], options);
    Ort::AllocatorWithDefaultOptions allocator;

    Ort::ModelMetadata metadata = session.GetModelMetadata();
    Ort::AllocatedStringPtr text = metadata.LookupCustomMetadataMapAllocated("plec.signature", allocator);
    if (!text) throw std::runtime_error("no plec.signature metadata: not a plec model");
    std::string signature_text(text.get());
    Json signature = JsonParser(signature_text).parse();

    std::vector<Input> inputs;
    for (const Json& spec : signature.get("inputs")->items) inputs.push_back(example_input(spec));

    Ort::MemoryInfo memory = Ort::MemoryInfo::CreateCpu(OrtArenaAllocator, OrtMemTypeDefault);
    std::vector<Ort::Value> values;
    std::vector<const char*> input_names;
    for (Input& input : inputs) {
      input_names.push_back(input.name.c_str());
      if (input.dtype == "int64") {
        values.push_back(Ort::Value::CreateTensor<int64_t>(memory, input.ids.data(), input.ids.size(), input.shape.data(), input.shape.size()));
      } else if (input.dtype == "float") {
        values.push_back(Ort::Value::CreateTensor<float>(memory, input.floats.data(), input.floats.size(), input.shape.data(), input.shape.size()));
      } else {
        Ort::Value tensor = Ort::Value::CreateTensor(allocator, input.shape.data(), input.shape.size(), ONNX_TENSOR_ELEMENT_DATA_TYPE_STRING);
        std::vector<const char*> cstrings;
        for (const std::string& s : input.strings) cstrings.push_back(s.c_str());
        tensor.FillStringTensor(cstrings.data(), cstrings.size());
        values.push_back(std::move(tensor));
      }
    }

    std::vector<std::string> output_names;
    for (const Json& output : signature.get("outputs")->items) output_names.push_back(output.get("name")->text);
    std::vector<const char*> output_cnames;
    for (const std::string& name : output_names) output_cnames.push_back(name.c_str());

    std::vector<Ort::Value> results = session.Run(Ort::RunOptions{nullptr}, input_names.data(), values.data(), values.size(),
                                                  output_cnames.data(), output_cnames.size());
    for (int64_t row = 0; row < 2; ++row) {
      std::printf("row %lld:", static_cast<long long>(row));
      for (size_t k = 0; k < results.size(); ++k) {
        std::vector<int64_t> shape = results[k].GetTensorTypeAndShapeInfo().GetShape();
        int64_t width = shape.size() > 1 ? shape[1] : 1;
        const float* data = results[k].GetTensorData<float>();
        std::printf("%s %s=", k ? "," : "", output_names[k].c_str());
        for (int64_t i = 0; i < width; ++i) std::printf(i ? " %.6g" : "%.6g", data[row * width + i]);
      }
      std::printf("\n");
    }
  } catch (const std::exception& error) {
    std::fprintf(stderr, "error: %s\n", error.what());
    return 1;
  }
  return 0;
}
