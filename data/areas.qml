<!DOCTYPE qgis PUBLIC 'http://mrcc.com/qgis.dtd' 'SYSTEM'>
<!-- socialrisk: the areas layer, graduated on isolation_risk_decile (1 = highest risk, red).
     Shipped as data/areas.qml, written beside the outputs as areas.qml and stored as the
     default style of areas.gpkg (table layer_styles); field aliases are added per run. -->
<qgis version="3.28.0-Firenze" styleCategories="Symbology|Labeling|Fields" labelsEnabled="1">
  <renderer-v2 type="graduatedSymbol" attr="isolation_risk_decile" graduatedMethod="GraduatedColor" symbollevels="0" enableorderby="0" forceraster="0">
    <ranges>
      <range lower="0.5" upper="1.5" symbol="0" label="1 (highest risk)" render="true"/>
      <range lower="1.5" upper="2.5" symbol="1" label="2" render="true"/>
      <range lower="2.5" upper="3.5" symbol="2" label="3" render="true"/>
      <range lower="3.5" upper="4.5" symbol="3" label="4" render="true"/>
      <range lower="4.5" upper="5.5" symbol="4" label="5" render="true"/>
      <range lower="5.5" upper="6.5" symbol="5" label="6" render="true"/>
      <range lower="6.5" upper="7.5" symbol="6" label="7" render="true"/>
      <range lower="7.5" upper="8.5" symbol="7" label="8" render="true"/>
      <range lower="8.5" upper="9.5" symbol="8" label="9" render="true"/>
      <range lower="9.5" upper="10.5" symbol="9" label="10 (lowest risk)" render="true"/>
    </ranges>
    <symbols>
      <symbol type="fill" name="0" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="165,0,38,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="1" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="215,48,39,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="2" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="244,109,67,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="3" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="253,174,97,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="4" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="254,224,144,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="5" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="224,243,248,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="6" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="171,217,233,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="7" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="116,173,209,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="8" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="69,117,180,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
      <symbol type="fill" name="9" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="49,54,149,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
    </symbols>
    <source-symbol>
      <symbol type="fill" name="0" alpha="0.85" clip_to_extent="1" force_rhr="0">
        <layer class="SimpleFill" enabled="1" locked="0" pass="0">
          <prop k="color" v="200,200,200,255"/>
          <prop k="outline_color" v="255,255,255,255"/>
          <prop k="outline_style" v="solid"/>
          <prop k="outline_width" v="0.2"/>
          <prop k="outline_width_unit" v="MM"/>
          <prop k="style" v="solid"/>
        </layer>
      </symbol>
    </source-symbol>
    <mode name="manual"/>
    <rotation/>
    <sizescale/>
  </renderer-v2>
  <labeling type="simple">
    <settings calloutType="simple">
      <text-style fieldName="isolation_risk_decile" isExpression="0" fontFamily="Sans Serif" fontSize="9" fontSizeUnit="Point" fontWeight="75" textColor="20,20,20,255" textOpacity="1" multilineHeight="1" previewBkgrdColor="255,255,255,255">
        <text-buffer bufferDraw="1" bufferSize="0.8" bufferSizeUnits="MM" bufferColor="255,255,255,255" bufferOpacity="0.8" bufferJoinStyle="128" bufferNoFill="1"/>
      </text-style>
      <text-format wrapChar="" multilineAlign="1" plussign="0" formatNumbers="0" decimals="0"/>
      <placement placement="1" centroidWhole="0" centroidInside="1" fitInPolygonOnly="0" priority="5" offsetType="0" dist="0"/>
      <rendering scaleVisibility="1" scaleMin="0" scaleMax="150000" obstacle="1" obstacleType="1" upsidedownLabels="0" limitNumLabels="0" maxNumLabels="2000" minFeatureSize="0" displayAll="0" mergeLines="0" drawLabels="1"/>
    </settings>
  </labeling>
  <aliases/>
  <layerOpacity>1</layerOpacity>
  <previewExpression>"area_name"</previewExpression>
  <layerGeometryType>2</layerGeometryType>
</qgis>
